import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { FIRST_LOAD_BUDGET_BYTES, firstLoadScripts, measureFirstLoad } from '../bench/web-bundle.ts';
import { ensureWebBuilt } from '../web/ensure-built.ts';

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
