import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { FIRST_LOAD_BUDGET_BYTES, firstLoadScripts, measureFirstLoad } from '../bench/web-bundle.ts';
import { createStaticAssets } from '../src/control/console/static-assets.ts';
import { buildWeb, ensureWebBuilt } from '../web/ensure-built.ts';
import { publishBuild } from '../web/publish-build.ts';
import { listen } from './support/harness.ts';
import { scratchDirs } from './support/scratch.ts';

const dist = fileURLToPath(new URL('../web/dist/', import.meta.url));

test('the web app builds, and the dashboard first load stays under 300 KB of compressed JavaScript', async () => {
  await ensureWebBuilt();
  const size = measureFirstLoad();
  assert.ok(size.files.length >= 1, 'index.html loads at least one script');
  // A size budget, not a timing: the bytes are the same on every machine.
  assert.ok(size.gzip <= FIRST_LOAD_BUDGET_BYTES, `first load is ${size.gzip} bytes gzip, over the ${FIRST_LOAD_BUDGET_BYTES} budget`);
  assert.ok(size.brotli <= FIRST_LOAD_BUDGET_BYTES, `first load is ${size.brotli} bytes brotli`);
});

test('the built index.html needs no inline script or style (the CSP allows only files from the origin)', async () => {
  await ensureWebBuilt();
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
    assert.match(m[1]!, /\ssrc="\/assets\//, 'every script is a file under /assets/');
    assert.equal(m[2]!.trim(), '', 'no inline script body');
  }
  assert.doesNotMatch(html, /<style\b/, 'no <style> block');
  assert.doesNotMatch(html, /\sstyle=/, 'no style attribute');
  assert.match(html, /<link rel="stylesheet"[^>]*href="\/assets\/[^"]+\.css"/, 'CSS arrives as a file');
});

test('the API reference renderer (Scalar) is its own file, never part of the first load', async () => {
  await ensureWebBuilt();
  const assets = readdirSync(join(dist, 'assets'));
  const scalar = assets.filter((f) => f.startsWith('scalar-') && f.endsWith('.js'));
  assert.equal(scalar.length, 1, 'one hashed Scalar bundle is emitted');
  const first = firstLoadScripts();
  assert.ok(!first.some((f) => f.includes('scalar')), `first load: ${first.join(', ')}`);
  for (const f of first) assert.ok(!readFileSync(join(dist, f), 'utf8').includes('createApiReference'), `${f} does not contain Scalar`);
});

test('the build writes a brotli and a gzip copy beside every script and style, so the server never compresses on a request', async () => {
  await ensureWebBuilt();
  const files = readdirSync(join(dist, 'assets')).filter((f) => /\.(?:js|css)$/.test(f));
  assert.ok(
    files.some((f) => f.startsWith('scalar-')),
    'the Scalar bundle is among them',
  );
  for (const f of files) {
    const bytes = readFileSync(join(dist, 'assets', f));
    assert.ok(brotliDecompressSync(readFileSync(join(dist, 'assets', `${f}.br`))).equals(bytes), `${f}.br decodes to ${f}`);
    assert.ok(gunzipSync(readFileSync(join(dist, 'assets', `${f}.gz`))).equals(bytes), `${f}.gz decodes to ${f}`);
  }
});

const scratch = scratchDirs('gatehouse-web-build-');
after(() => scratch.removeAll());

test('a rebuild under a running Gatehouse never leaves a page or an asset missing (npx --prefix runs prepare beside it)', async () => {
  const out = join(scratch.make(), 'dist');
  await buildWeb(out);
  const errors: unknown[] = [];
  const assets = createStaticAssets(out, (error) => errors.push(error));
  const server = createServer((req, res) => assets.serve(req, res));
  const base = await listen(server);
  const scripts = [...readFileSync(join(out, 'index.html'), 'utf8').matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  assert.ok(scripts.length >= 2, 'index.html names its script and style');
  const answers = new Map<string, number>();
  let building = true;
  const asking = (async () => {
    while (building) {
      for (const path of ['/console/', '/developers/apps', ...scripts]) {
        const res = await fetch(`${base}${path}`, { headers: { 'accept-encoding': 'identity' } });
        await res.arrayBuffer();
        answers.set(`${path} ${res.status}`, (answers.get(`${path} ${res.status}`) ?? 0) + 1);
      }
    }
  })();
  try {
    await buildWeb(out);
  } finally {
    building = false;
    await asking;
    server.close();
  }
  const failed = [...answers.keys()].filter((answer) => !answer.endsWith(' 200'));
  assert.deepEqual(failed, [], `every answer during the build was 200: ${JSON.stringify(Object.fromEntries(answers))}`);
  assert.ok(answers.size >= 4 && [...answers.values()].every((n) => n >= 1), 'pages and assets were asked for during the build');
  assert.deepEqual(errors, []);
  assert.deepEqual(
    readdirSync(join(out, '..')).filter((name) => name.includes('staging')),
    [],
    'the staging folder is gone',
  );
});

test('a build removes the staging folders of builds whose process is gone (killed mid-build), and leaves a running one’s', async () => {
  const out = join(scratch.make(), 'dist');
  const exited = spawnSync(process.execPath, ['-e', '']);
  assert.equal(exited.status, 0);
  const abandoned = `${out}.staging-${exited.pid}`;
  const running = `${out}.staging-${process.ppid}`;
  for (const dir of [abandoned, running]) {
    mkdirSync(join(dir, 'assets'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), 'half a build');
  }
  await buildWeb(out);
  assert.equal(existsSync(abandoned), false, 'the abandoned staging folder is gone');
  assert.equal(existsSync(running), true, 'a staging folder whose process runs is left alone');
  assert.ok(existsSync(join(out, 'index.html')));
});

test('publishing a build keeps the previous build’s files (an open page’s lazy chunks) and removes older ones', () => {
  const dist = scratch.make();
  const build = (name: string, files: Record<string, string>) => {
    const staging = join(scratch.make(), name);
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(join(staging, file, '..'), { recursive: true });
      writeFileSync(join(staging, file), text);
    }
    publishBuild(staging, dist);
  };
  build('one', { 'index.html': 'one', 'assets/index-1.js': '1', 'assets/lazy-1.js': 'l1', 'assets/shared-0.css': 's' });
  build('two', { 'index.html': 'two', 'assets/index-2.js': '2', 'assets/shared-0.css': 's' });
  assert.equal(readFileSync(join(dist, 'index.html'), 'utf8'), 'two');
  assert.ok(existsSync(join(dist, 'assets/lazy-1.js')), 'the previous build’s lazy chunk is kept');
  build('three', { 'index.html': 'three', 'assets/index-3.js': '3' });
  assert.deepEqual(readdirSync(join(dist, 'assets')).sort(), ['index-2.js', 'index-3.js', 'shared-0.css']);
  assert.equal(readFileSync(join(dist, 'index.html'), 'utf8'), 'three');
});
