// Puts a finished build in place under a running server. Vite's own emptyOutDir deletes the served
// index.html and assets for the seconds a build takes (npm runs `prepare`, which rebuilds, even on
// `npx --prefix <checkout>`), and every page asked for meanwhile answered 503.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** The files of the build last published, kept with it so that the one before can be pruned. */
const MANIFEST = '.build-files.json';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

function readManifest(dir: string): string[] {
  try {
    return JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as string[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Writes a file whole or not at all: rename(2) replaces the old one atomically. */
function replaceFile(file: string, text: string): void {
  writeFileSync(`${file}.next`, text);
  renameSync(`${file}.next`, file);
}

/**
 * Moves the build in `staging` into `dist` so that every moment serves one whole build:
 * 1. the new hashed assets join the old ones (a name holds one content, so nothing served changes);
 * 2. index.html is replaced by rename(2), atomically: the next page load uses the new build;
 * 3. files of neither this build nor the one before are removed. The one before stays, so a page
 *    opened on it can still load its lazy chunks (the API reference) until it is reloaded.
 */
export function publishBuild(staging: string, dist: string): void {
  const built = filesUnder(staging);
  const pages = built.filter((file) => !file.startsWith('assets/'));
  for (const file of [...built.filter((f) => f.startsWith('assets/')), ...pages]) {
    mkdirSync(dirname(join(dist, file)), { recursive: true });
    renameSync(join(staging, file), join(dist, file));
  }
  const keep = new Set([...built, ...readManifest(dist), MANIFEST]);
  for (const file of filesUnder(dist)) if (!keep.has(file)) rmSync(join(dist, file));
  replaceFile(join(dist, MANIFEST), JSON.stringify(built));
}
