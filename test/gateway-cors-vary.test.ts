import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { listen, startHarness, type Harness } from './support/harness.ts';

/**
 * A publishable route's answer names the caller's origin in Access-Control-Allow-Origin, so it must
 * say `Vary: Origin` (Fetch standard, CORS protocol and HTTP caches): otherwise a shared cache hands
 * one origin's answer to another. That holds when the upstream sends a Vary of its own too.
 */
describe("publishable routes: Vary: Origin survives the upstream's own Vary", () => {
  let h: Harness;
  let upstream: Server;
  let pub: string;

  before(async () => {
    h = await startHarness();
    upstream = createServer((req, res) => {
      // Two Vary lines (a framework's and a middleware's): undici hands them over as an array.
      const vary: string | string[] = req.url?.includes('two-lines') ? ['Accept-Encoding', 'Accept-Language'] : 'Accept-Encoding';
      res.setHeader('vary', vary);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"items":[]}');
    });
    const upstreamUrl = await listen(upstream);
    const api = await h.admin('POST', '/apis', {
      name: 'catalog',
      listenPath: '/catalog',
      upstreamUrl,
      auth: { type: 'apiKey', scopes: [], routes: [{ methods: ['GET', 'HEAD'], paths: ['/public/**'], type: 'publishable' }] },
    });
    const app = await h.admin('POST', '/apps', { name: 'Shop front end' });
    const created = await h.admin('POST', '/keys', {
      appId: app.body.id,
      publishable: true,
      allowedOrigins: ['https://shop.example', 'https://blog.example'],
      access: [{ apiId: api.body.id }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    pub = created.body.secret;
  });
  after(async () => {
    await h.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });

  test('an upstream answer with Vary: Accept-Encoding still varies by Origin', async () => {
    const res = await fetch(`${h.gh.gatewayUrl}/catalog/public/items`, { headers: { 'x-api-key': pub, origin: 'https://shop.example' } });
    await res.text();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example');
    const vary = (res.headers.get('vary') ?? '').split(',').map((v) => v.trim().toLowerCase());
    assert.ok(vary.includes('origin'), `Vary is "${res.headers.get('vary')}": a cache may serve this answer to https://blog.example`);
    assert.ok(vary.includes('accept-encoding'), "the upstream's own Vary is kept");
  });

  test('an upstream answer with two Vary lines still varies by Origin', async () => {
    const res = await fetch(`${h.gh.gatewayUrl}/catalog/public/two-lines`, { headers: { 'x-api-key': pub, origin: 'https://shop.example' } });
    await res.text();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example');
    const vary = (res.headers.get('vary') ?? '').split(',').map((v) => v.trim().toLowerCase());
    assert.ok(vary.includes('origin'), `Vary is "${res.headers.get('vary')}": a cache may serve this answer to https://blog.example`);
    assert.ok(vary.includes('accept-encoding') && vary.includes('accept-language'), "the upstream's own Vary lines are kept");
  });
});
