import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync, gzipSync } from 'node:zlib';
import { APP_CSP } from '../src/control/console/static-assets.ts';
import { startHarness, type Harness } from './support/harness.ts';
import { fakeWebBuild } from './support/console.ts';
import { waitFor } from './support/wait.ts';

const CONTRACT_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

describe('the web app’s files on the control plane: index.html under a strict CSP, hashed assets cached and compressed', () => {
  let h: Harness;
  let dir: string;
  before(async () => {
    dir = fakeWebBuild();
    h = await startHarness({ GATEHOUSE_CONSOLE_ASSETS_DIR: dir });
  });
  after(() => h.close());
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${h.gh.controlUrl}${path}`, { headers, redirect: 'manual' });
  /** The first answer sent brotli: the server compresses a file without copies beside it in the background. */
  const brotliAnswer = (path: string) =>
    waitFor(
      async () => {
        const res = await get(path, { 'accept-encoding': 'gzip, deflate, br' });
        if (res.headers.get('content-encoding') === 'br') return res;
        await res.arrayBuffer();
        return null;
      },
      { what: `a brotli answer for ${path}` },
    );

  test('/ sends the browser to /console/', async () => {
    const res = await get('/');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/console/');
  });

  test('every page of both faces answers index.html, never stored (no-store), under the CSP and isolation headers', async () => {
    assert.equal(APP_CSP, CONTRACT_CSP);
    for (const path of ['/console/', '/console', '/console/keys/key_1', '/developers/', '/developers/apps?x=1']) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      assert.match(await res.text(), /<div id="root">/);
      assert.equal(res.headers.get('content-security-policy'), CONTRACT_CSP);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin');
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    }
    assert.equal((await fetch(`${h.gh.controlUrl}/console/`, { method: 'POST' })).status, 405);
  });

  test('a hashed asset is cached for a year, immutable, and sent brotli or gzip compressed when accepted', async () => {
    const original = `console.log(${JSON.stringify('gatehouse '.repeat(200))});\n`;
    // The fake build has no compressed copies beside this file: the server makes them, in the background.
    const br = await brotliAnswer('/assets/app-0a1b2c3d.js');
    assert.equal(br.status, 200);
    assert.equal(br.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(br.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(br.headers.get('vary'), 'Accept-Encoding');
    assert.equal(br.headers.get('content-encoding'), 'br');
    // fetch decodes; the length on the wire is the compressed one.
    assert.equal(await br.text(), original);
    assert.ok(Number(br.headers.get('content-length')) < original.length / 5);
    const raw = await new Promise<Buffer>((resolve, reject) => {
      httpGet(`${h.gh.controlUrl}/assets/app-0a1b2c3d.js`, { headers: { 'accept-encoding': 'br' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      }).on('error', reject);
    });
    assert.equal(brotliDecompressSync(raw).toString(), original);
    const gz = await get('/assets/app-0a1b2c3d.js', { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    const plain = await get('/assets/app-0a1b2c3d.js', { 'accept-encoding': 'identity' });
    assert.equal(plain.headers.get('content-encoding'), null);
    assert.equal(await plain.text(), original);
  });

  test('a file without compressed copies beside it is sent at once as it is, never waiting on its compression', async () => {
    // Compressing Scalar's 4.8 MB bundle at brotli quality 11 on the request once held the whole
    // control plane for 18 s: the first answer is the file itself, the copies are made off the event loop.
    const original = `export const words = ${JSON.stringify('reference '.repeat(50_000))};\n`;
    writeFileSync(join(dir, 'assets', 'large-5e6f7a8b.js'), original);
    const first = await get('/assets/large-5e6f7a8b.js', { 'accept-encoding': 'br, gzip' });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('content-encoding'), null);
    assert.equal(first.headers.get('content-length'), String(original.length));
    assert.equal(await first.text(), original);
    const later = await brotliAnswer('/assets/large-5e6f7a8b.js');
    assert.equal(await later.text(), original);
  });

  test('a precompressed file beside the asset is the one sent', async () => {
    writeFileSync(join(dir, 'assets', 'other-9f8e7d6c.css'), 'body { color: black }\n');
    writeFileSync(join(dir, 'assets', 'other-9f8e7d6c.css.gz'), gzipSync('/* precompressed */\n'));
    const res = await get('/assets/other-9f8e7d6c.css', { 'accept-encoding': 'gzip' });
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.equal(await res.text(), '/* precompressed */\n');
  });

  test('nothing outside the assets folder is served, and a missing asset is 404', async () => {
    for (const path of ['/assets/../index.html', '/assets/%2e%2e/index.html', '/assets/missing-0000.js', '/assets/.hidden', '/assets/a/b/c.js']) {
      const res = await get(path);
      assert.equal(res.status, 404, path);
      await res.arrayBuffer();
    }
  });

  test('without a build, the pages answer 503 naming npm run build:web', async () => {
    const bare = await startHarness({ GATEHOUSE_CONSOLE_ASSETS_DIR: join(dir, 'not-there') });
    try {
      const res = await fetch(`${bare.gh.controlUrl}/console/`);
      assert.equal(res.status, 503);
      assert.match(await res.text(), /npm run build:web/);
      assert.equal(res.headers.get('content-security-policy'), CONTRACT_CSP);
      // Without a master key, the BFF is not there either: a problem, not a crash.
      const bff = await fetch(`${bare.gh.controlUrl}/bff/session`);
      assert.equal(bff.status, 503);
      assert.equal(((await bff.json()) as { code: string }).code, 'CONSOLE_UNAVAILABLE');
    } finally {
      await bare.close();
    }
  });
});
