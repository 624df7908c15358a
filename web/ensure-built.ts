// Builds the web app into web/dist when it is missing or older than its sources: `npm start` runs
// this first, so a fresh clone shows the console even if `npm ci` ran without lifecycle scripts.
// With --force it always builds (npm run build:web).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const index = join(here, 'dist', 'index.html');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** True when web/dist is missing or a source (web/src, index.html, the config) changed since. */
export function webBuildStale(): boolean {
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  const sources = Math.max(newestSource(join(here, 'src')), statSync(join(here, 'index.html')).mtimeMs, statSync(join(here, 'vite.config.ts')).mtimeMs);
  return sources > built;
}

/** Runs Vite's production build (about 2-5 s) with web/vite.config.ts. */
export async function buildWeb(): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: join(here, 'vite.config.ts'), logLevel: 'warn' });
}

export async function ensureWebBuilt(force = false): Promise<boolean> {
  if (!force && !webBuildStale()) return false;
  await buildWeb();
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes('--force');
  const built = await ensureWebBuilt(force);
  if (built) console.log(`web app built into ${join(here, 'dist')}`);
}
