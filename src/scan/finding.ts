import type { SecretMatch } from '../domain/secret-scan.ts';

/** Where a secret was found: a file as it is now, a commit of the history, or the staged changes. */
export type FindingSource = 'file' | 'history' | 'staged';

export interface Finding {
  /** The secret and where in its text: `match.secret` is for lookups and actions, never for output. */
  match: SecretMatch;
  source: FindingSource;
  /** A file's path as walked (from the PATH given); for history and staged findings, the path inside the repository. */
  path: string;
  /** history: the commit that added the secret at this path, and its commit time (epoch ms). */
  commit: string | null;
  committedAt?: number | null;
  /** history and staged: the repository's directory as given on the command line. */
  repository: string | null;
}

export interface ScanStats {
  files: number;
  /** Unique blobs read from git (history and staged). */
  blobs: number;
  /** Commits in the histories scanned. */
  commits: number;
  skippedBinary: number;
  skippedLarge: number;
}

export const emptyStats = (): ScanStats => ({ files: 0, blobs: 0, commits: 0, skippedBinary: 0, skippedLarge: 0 });

/** A scan that could not run (not a repository, git missing, a path that does not exist): exit code 2. */
export class ScanError extends Error {
  override readonly name = 'ScanError';
}

/** `path:line`, and `@commit` for history: what a report and `--mark-exposed` name as where. */
export function findingWhere(f: Finding): string {
  const at = `${f.path}:${f.match.line}`;
  if (f.source === 'history') return `${at}@${f.commit!.slice(0, 12)}`;
  if (f.source === 'staged') return `${at} (staged)`;
  return at;
}
