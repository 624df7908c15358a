// The dashboard's first-load JavaScript: the scripts /console/ loads before any click (index.html's
// module script and its static imports and modulepreloads), measured as the control plane sends them:
// the .gz and .br copies the build writes beside each file. Budget: 300 KB compressed.
//   node bench/web-bundle.ts            (builds web/dist first when it is stale)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureWebBuilt } from '../web/ensure-built.ts';

export const FIRST_LOAD_BUDGET_BYTES = 300 * 1024;

export interface BundleSize {
  files: { file: string; raw: number; gzip: number; brotli: number }[];
  raw: number;
  gzip: number;
  brotli: number;
}

const dist = fileURLToPath(new URL('../web/dist/', import.meta.url));

/** The JavaScript a first load of index.html fetches: entry scripts, then their static imports. */
export function firstLoadScripts(): string[] {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const queue = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/([^"]+\.js)"/g)].map((m) => m[1]!);
  const seen = new Set<string>();
  while (queue.length) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(join(dist, file), 'utf8');
    // Static imports only (`import ... from "./x.js"`, `import "./x.js"`): dynamic import() loads later.
    for (const m of code.matchAll(/(?:^|[;}\s])import\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([^"']+\.js)["']/g)) queue.push(join('assets', m[1]!));
  }
  return [...seen];
}

export function measureFirstLoad(): BundleSize {
  const files = firstLoadScripts().map((file) => {
    const bytes = readFileSync(join(dist, file));
    return {
      file,
      raw: bytes.length,
      gzip: readFileSync(join(dist, `${file}.gz`)).length,
      brotli: readFileSync(join(dist, `${file}.br`)).length,
    };
  });
  const sum = (k: 'raw' | 'gzip' | 'brotli') => files.reduce((a, f) => a + f[k], 0);
  return { files, raw: sum('raw'), gzip: sum('gzip'), brotli: sum('brotli') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await ensureWebBuilt();
  const m = measureFirstLoad();
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  for (const f of m.files) console.log(`${f.file}: ${kb(f.raw)} raw, ${kb(f.gzip)} gzip, ${kb(f.brotli)} brotli`);
  console.log(`first load of /console/: ${kb(m.raw)} raw, ${kb(m.gzip)} gzip, ${kb(m.brotli)} brotli (budget ${kb(FIRST_LOAD_BUDGET_BYTES)} compressed)`);
  if (m.gzip > FIRST_LOAD_BUDGET_BYTES) process.exitCode = 1;
}
