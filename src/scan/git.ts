import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { findSecrets, looksBinary, mayHoldSecret, type SecretMatch } from '../domain/secret-scan.ts';
import { ScanError, type Finding, type ScanStats } from './finding.ts';

/**
 * A git repository's history, scanned for secrets without holding it in memory:
 *
 * 1. `git rev-list --all --objects` names every blob reachable from any ref, each once, filtered to
 *    blobs under the size limit by git itself; the names stream into one `git cat-file --batch`,
 *    whose output is parsed as it arrives. Each unique blob is read and scanned once, however many
 *    commits and paths share it: the cost follows the distinct content, not the history's length.
 * 2. Only if some blob holds a secret, `git log --all --raw` streams every commit's changed paths
 *    with their old and new blob ids; a path whose new blob holds a secret that none of its parents'
 *    blobs at that path held is where that secret was added (commit, path, line).
 *
 * Only read-only plumbing runs (rev-list, cat-file, log --raw, diff --cached --raw): no hook, no
 * textconv, no diff driver a repository's configuration could name.
 */

const ZERO_OID = /^0+$/;

/** A blob's secrets, kept only for blobs that have some. */
type Hits = Map<string, SecretMatch[]>;

interface GitProcess {
  /** null when another stream was given as its input. */
  stdin: Writable | null;
  stdout: Readable;
  /** How it ended: null when it exited 0, else the failure with git's own message. Never rejects. */
  done: Promise<ScanError | null>;
}

/** Starts a read-only git command in `cwd`; "git is not installed" becomes a ScanError. */
async function git(cwd: string, args: string[], what: string, stdin: Readable | 'pipe' = 'pipe'): Promise<GitProcess> {
  const child = spawn('git', ['-c', 'core.quotePath=off', ...args], {
    cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' },
    stdio: [stdin, 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new ScanError('git is not installed (or not on PATH): needed to scan a repository') : error),
    );
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    if (stderr.length < 4096) stderr += c.toString();
  });
  // A child that exits early breaks the pipe we write to: the exit status below reports it.
  let stdinError: Error | null = null;
  child.stdin?.on('error', (error) => (stdinError = error));
  const done = once(child, 'close').then(([code, signal]: unknown[]) => {
    if (code === 0 && !stdinError) return null;
    const why =
      code === 0 ? `writing to it failed: ${stdinError!.message}` : `${(signal as string | null) ?? `exit ${String(code)}`}: ${stderr.trim() || 'no message'}`;
    return new ScanError(`git ${what} failed (${why})`);
  });
  return { stdin: child.stdin, stdout: child.stdout!, done };
}

async function succeeded(p: GitProcess): Promise<void> {
  const error = await p.done;
  if (error) throw error;
}

/** A git command's whole output (small ones only). */
async function output(cwd: string, args: string[], what: string): Promise<string> {
  const p = await git(cwd, args, what);
  let out = '';
  for await (const chunk of p.stdout as AsyncIterable<Buffer>) out += chunk.toString();
  await succeeded(p);
  return out;
}

/** Splits a stream into records ending with `separator` (the last may lack it), as strings. */
async function* records(stream: Readable, separator: number): AsyncGenerator<string> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const data = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let start = 0;
    for (let i = data.indexOf(separator, start); i !== -1; i = data.indexOf(separator, start)) {
      yield data.toString('utf8', start, i);
      start = i + 1;
    }
    pending = data.subarray(start);
  }
  if (pending.length) yield pending.toString('utf8');
}

/** Writes to a child's stdin, waiting while its pipe is full. */
async function write(stdin: Writable, text: string): Promise<void> {
  if (!stdin.write(text)) await once(stdin, 'drain');
}

/**
 * `git cat-file --batch`: `feed` writes object ids (one per line) while the output is parsed as it
 * arrives: `<oid> <type> <size>\n<content>\n`, or `<oid> missing\n`. One object's content is held at a time.
 */
async function catFile(cwd: string, input: Readable | ((stdin: Writable) => Promise<void>), onBlob: (oid: string, content: Buffer) => void): Promise<void> {
  // A stream with a file descriptor (another git's output) becomes cat-file's stdin directly, child to child.
  const child = await git(cwd, ['cat-file', '--batch'], 'cat-file', typeof input === 'function' ? 'pipe' : input);
  // cat-file holds its own copy of a given stream's descriptor: ours is closed, or that process would never report 'close'.
  if (typeof input !== 'function') input.destroy();
  const writing = typeof input === 'function' ? input(child.stdin!).then(() => void child.stdin!.end()) : Promise.resolve();
  let pending: Buffer = Buffer.alloc(0);
  let body: { oid: string; size: number; parts: Buffer[]; have: number } | null = null;
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    const data = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    let pos = 0;
    while (pos < data.length) {
      if (body) {
        // The content, then one LF.
        const take = Math.min(body.size + 1 - body.have, data.length - pos);
        body.parts.push(data.subarray(pos, pos + take));
        body.have += take;
        pos += take;
        if (body.have === body.size + 1) {
          const content = body.parts.length === 1 ? body.parts[0]! : Buffer.concat(body.parts);
          onBlob(body.oid, content.subarray(0, body.size));
          body = null;
        }
        continue;
      }
      const nl = data.indexOf(10, pos);
      if (nl === -1) {
        pending = data.subarray(pos);
        break;
      }
      const [oid, type, size] = data.toString('latin1', pos, nl).split(' ');
      pos = nl + 1;
      if (type === 'missing' || size === undefined) continue;
      body = { oid: oid!, size: Number(size), parts: [], have: 0 };
    }
  }
  await writing;
  await succeeded(child);
}

/** A blob's secrets, or none for binary content (git's own test). */
function scanBlob(content: Buffer, stats: ScanStats): SecretMatch[] {
  stats.blobs++;
  if (looksBinary(content)) {
    stats.skippedBinary++;
    return [];
  }
  return mayHoldSecret(content) ? findSecrets(content.toString('utf8')) : [];
}

/** One changed path of a commit, from `--raw -z`: the parents' blob ids (none for a root commit's addition) and the new one. */
interface RawChange {
  parents: string[];
  blob: string;
  mode: string;
  path: string;
}

/**
 * Parses `--raw -z` output: `:<modes> <oids> <status>\0<path>\0` per change (`::...` for a merge's
 * combined form, one mode and oid per parent and one for the result); with `--format=%x01%H`, a
 * commit starts with \x01 and its id.
 */
async function* rawChanges(stream: Readable): AsyncGenerator<{ commit: string; at: number | null } | RawChange> {
  let meta: string | null = null;
  for await (let token of records(stream, 0)) {
    if (token.startsWith('\n')) token = token.slice(1);
    if (meta !== null) {
      const colons = meta.length - meta.replace(/^:+/, '').length;
      const fields = meta.slice(colons).split(' ');
      // colons = number of parents; modes and oids: one per parent plus the result's.
      const oids = fields.slice(colons + 1, 2 * colons + 2);
      yield { parents: oids.slice(0, -1).filter((o) => !ZERO_OID.test(o)), blob: oids.at(-1)!, mode: fields[colons]!, path: token };
      meta = null;
    } else if (token.startsWith('\x01')) {
      const [commit, seconds] = token.slice(1).trim().split(' ');
      yield { commit: commit!, at: seconds ? Number(seconds) * 1000 : null };
    } else if (token.startsWith(':')) meta = token;
  }
}

/** The secrets of `blob` that none of `parents` held: those this change added. */
function added(hits: Hits, blob: string, parents: string[]): SecretMatch[] {
  const matches = hits.get(blob);
  if (!matches) return [];
  const before = new Set(parents.flatMap((p) => hits.get(p) ?? []).map((m) => m.secret));
  return matches.filter((m) => !before.has(m.secret));
}

/**
 * Whether `dir` is a repository's top level: a work tree (`.git`, a directory, or a file in a linked
 * work tree or submodule) or a bare repository (`HEAD`, `objects/`, `refs/`). Read from the file
 * system, not asked of git: a spawn costs more than the rest of a small scan. A directory inside a
 * work tree is scanned as files, not as the whole history.
 */
export async function gitDirKind(dir: string): Promise<'worktree' | 'bare' | null> {
  // true: a directory; false: something else; null: nothing there.
  const kind = async (path: string): Promise<boolean | null> => {
    try {
      return (await lstat(join(dir, path))).isDirectory();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  };
  if ((await kind('.git')) !== null) return 'worktree';
  const [head, objects, refs] = await Promise.all([kind('HEAD'), kind('objects'), kind('refs')]);
  return head === false && objects === true && refs === true ? 'bare' : null;
}

/** Every commit of every ref: where each secret was added (commit, path, line). */
export async function scanHistory(repo: string, options: { maxBlobBytes: number }, stats: ScanStats): Promise<Finding[]> {
  const hits: Hits = new Map();
  const revList = await git(
    repo,
    [
      'rev-list',
      '--all',
      '--objects',
      '--no-object-names',
      `--filter=combine:object:type=blob+blob:limit=${options.maxBlobBytes}`,
      '--filter-provided-objects',
    ],
    'rev-list',
  );
  await catFile(repo, revList.stdout, (oid, content) => {
    const found = scanBlob(content, stats);
    if (found.length) hits.set(oid, found);
  });
  await succeeded(revList);
  stats.commits += await countCommits(repo);
  if (hits.size === 0) return [];

  const log = await git(repo, ['log', '--all', '--raw', '--no-renames', '--no-abbrev', '-c', '--root', '-z', '--format=%x01%H %ct'], 'log');
  // Per commit, in the order git lists its paths; commits newest first as git log lists them.
  const byCommit: Finding[][] = [];
  let commit = '';
  let committedAt: number | null = null;
  for await (const item of rawChanges(log.stdout)) {
    if ('commit' in item) {
      ({ commit, at: committedAt } = item);
      byCommit.push([]);
      continue;
    }
    for (const match of added(hits, item.blob, item.parents))
      byCommit.at(-1)!.push({ match, source: 'history', path: item.path, commit, committedAt, repository: repo });
  }
  await succeeded(log);
  // A report reads better oldest first.
  return byCommit.reverse().flat();
}

async function countCommits(repo: string): Promise<number> {
  return Number((await output(repo, ['rev-list', '--all', '--count'], 'rev-list --count')).trim()) || 0;
}

/** The staged changes (the index against HEAD): secrets a commit made now would add. For a pre-commit hook. */
export async function scanStaged(repo: string, stats: ScanStats): Promise<Finding[]> {
  const diff = await git(repo, ['diff', '--cached', '--raw', '-z', '--no-renames', '--no-abbrev', '--diff-filter=d'], 'diff --cached');
  const changes: RawChange[] = [];
  for await (const item of rawChanges(diff.stdout)) if (!('commit' in item) && item.mode !== '160000') changes.push(item);
  await succeeded(diff);
  const hits: Hits = new Map();
  const oids = new Set(changes.flatMap((c) => [c.blob, ...c.parents]));
  if (oids.size === 0) return [];
  await catFile(
    repo,
    async (stdin) => {
      for (const oid of oids) await write(stdin, `${oid}\n`);
    },
    (oid, content) => {
      const found = scanBlob(content, stats);
      if (found.length) hits.set(oid, found);
    },
  );
  return changes.flatMap((c) =>
    added(hits, c.blob, c.parents).map((match) => ({ match, source: 'staged' as const, path: c.path, commit: null, repository: repo })),
  );
}
