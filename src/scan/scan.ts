import { lstat, open, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { findSecrets, looksBinary, mayHoldSecret } from '../domain/secret-scan.ts';
import { emptyStats, ScanError, type Finding, type ScanStats } from './finding.ts';
import { gitDirKind, scanHistory, scanStaged } from './git.ts';

export interface ScanOptions {
  /** Scan every commit of a repository given as a PATH (its top level), not only its files. */
  history: boolean;
  /** node_modules holds others' code; skipped unless asked for. */
  includeNodeModules: boolean;
  /** Files and blobs larger than this are skipped (counted in the stats). */
  maxFileBytes: number;
}

export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024;

export interface ScanResult {
  findings: Finding[];
  stats: ScanStats;
}

/** How many files are read at once: enough to overlap disk waits, few enough to keep memory flat. */
const READ_CONCURRENCY = 16;

/**
 * Scans each PATH: a file; a directory's files (not following symlinks, skipping `.git` and, unless
 * asked, `node_modules`); and for a repository's top level, every commit of its history too. A bare
 * repository is scanned as history only.
 */
export async function scanPaths(paths: readonly string[], options: ScanOptions): Promise<ScanResult> {
  const stats = emptyStats();
  const findings: Finding[] = [];
  for (const path of paths) {
    const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
      throw new ScanError(error.code === 'ENOENT' ? `${path}: no such file or directory` : `${path}: ${error.message}`);
    });
    if (info.isFile()) {
      findings.push(...(await scanFile(path, info.size, options, stats)));
      continue;
    }
    if (!info.isDirectory()) continue;
    const repo = options.history ? await gitDirKind(path) : null;
    if (repo !== 'bare') findings.push(...(await scanDirectory(path, options, stats)));
    if (repo) findings.push(...(await scanHistory(path, { maxBlobBytes: options.maxFileBytes }, stats)));
  }
  return { findings, stats };
}

/** The staged changes of the repository at `repo` (any directory inside its work tree). */
export async function scanStagedChanges(repo: string): Promise<ScanResult> {
  const stats = emptyStats();
  return { findings: await scanStaged(repo, stats), stats };
}

async function scanFile(path: string, size: number, options: ScanOptions, stats: ScanStats): Promise<Finding[]> {
  if (size > options.maxFileBytes) {
    stats.skippedLarge++;
    return [];
  }
  stats.files++;
  const file = await open(path, 'r');
  let bytes: Buffer;
  try {
    bytes = await file.readFile();
  } finally {
    await file.close();
  }
  if (looksBinary(bytes)) {
    stats.skippedBinary++;
    return [];
  }
  if (!mayHoldSecret(bytes)) return [];
  return findSecrets(bytes.toString('utf8')).map((match) => ({ match, source: 'file', path: displayPath(path), commit: null, repository: null }));
}

async function scanDirectory(root: string, options: ScanOptions, stats: ScanStats): Promise<Finding[]> {
  const files: { path: string; size: number }[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      // .git holds objects (compressed, scanned as history instead) and may be a file in a linked work tree.
      if (entry.name === '.git') continue;
      if (entry.isDirectory()) {
        if (entry.name === 'node_modules' && !options.includeNodeModules) continue;
        await walk(path);
      } else if (entry.isFile()) files.push({ path, size: (await lstat(path)).size });
    }
  };
  await walk(root);
  const results: Finding[][] = new Array<Finding[]>(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      results[i] = await scanFile(files[i]!.path, files[i]!.size, options, stats);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, files.length) }, worker));
  return results.flat();
}

/** Paths as the user sees them: relative to where the scan runs when inside it, with forward slashes (SARIF URIs). */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  const shown = rel && !rel.startsWith('..') ? rel : path;
  return sep === '/' ? shown : shown.split(sep).join('/');
}
