// Builds the web app into web/dist when it is missing or older than its sources: `npm start` runs
// this first, so a fresh clone shows the console even if `npm ci` ran without lifecycle scripts.
// With --force it always builds (npm run build:web).
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishBuild } from './publish-build.ts';

const here = dirname(fileURLToPath(import.meta.url));
const DIST = join(here, 'dist');
const index = join(DIST, 'index.html');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * True when web/dist is missing or older than what it is built from: web/src, index.html, the
 * config, or the installed packages (package-lock.json).
 */
export function webBuildStale(): boolean {
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  const inputs = [join(here, 'index.html'), join(here, 'vite.config.ts'), join(here, '..', 'package-lock.json')];
  const sources = Math.max(newestSource(join(here, 'src')), ...inputs.map((file) => statSync(file).mtimeMs));
  return sources > built;
}

/**
 * Runs Vite's production build (about 2-5 s) with web/vite.config.ts into a staging folder beside
 * `outDir`, then publishes it there: a server reading `outDir` meanwhile always finds a whole build.
 */
export async function buildWeb(outDir = DIST): Promise<void> {
  const { build } = await import('vite');
  removeAbandonedStaging(outDir);
  // Beside outDir, on its file system, so that publishing is a rename.
  const staging = `${outDir}.staging-${process.pid}`;
  try {
    await build({ configFile: join(here, 'vite.config.ts'), logLevel: 'warn', build: { outDir: staging, emptyOutDir: true } });
    publishBuild(staging, outDir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Staging folders beside `outDir` whose build's process is gone (killed mid-build): removed. */
function removeAbandonedStaging(outDir: string): void {
  const prefix = `${basename(outDir)}.staging-`;
  for (const name of readdirSync(dirname(outDir))) {
    if (!name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length))) continue;
    if (!processAlive(Number(name.slice(prefix.length)))) rmSync(join(dirname(outDir), name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, another user's.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

const lock = join(here, '.build-lock');

/** One build at a time across processes (test files run in parallel): a lock directory, taken over after 2 minutes. */
async function withLock<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      await sleep(200);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function ensureWebBuilt(force = false): Promise<boolean> {
  if (!force && !webBuildStale()) return false;
  return withLock(async () => {
    // Another process may have built it while this one waited.
    if (!force && !webBuildStale()) return false;
    await buildWeb();
    return true;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes('--force');
  const built = await ensureWebBuilt(force);
  if (built) console.log(`web app built into ${join(here, 'dist')}`);
}
