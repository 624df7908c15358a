import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblem, startHarness, type Harness } from './support/harness.ts';

describe('publishable keys: embeddable, origin-checked, public-read routes only, CORS per key', () => {
  let h: Harness;
  let pub: string;
  let secret: string;

  const get = async (path: string, headers: Record<string, string>, method = 'GET') => {
    const res = await h.fetch(`${h.gh.gatewayUrl}${path}`, { method, headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };

  before(async () => {
    h = await startHarness({ GATEHOUSE_TEST_GATEWAY: 'https' });
    const api = await h.admin('POST', '/apis', {
      name: 'catalog',
      listenPath: '/catalog',
      upstreamUrl: h.upstream.url,
      auth: { type: 'apiKey', scopes: [], routes: [{ methods: ['GET', 'HEAD'], paths: ['/public/**'], type: 'publishable' }] },
    });
    const app = await h.admin('POST', '/apps', { name: 'Shop front end' });
    const created = await h.admin('POST', '/keys', {
      appId: app.body.id,
      publishable: true,
      allowedOrigins: ['https://shop.example'],
      access: [{ apiId: api.body.id }],
      rateLimits: [{ name: 'burst', limit: 100, windowSeconds: 1 }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    pub = created.body.secret;
    secret = (await h.admin('POST', '/keys', { appId: app.body.id, access: [{ apiId: api.body.id }] })).body.secret;
  });
  after(() => h.close());

  test('a publishable key has its own prefix and shows its origins', async () => {
    assert.match(pub, /^gk_pub_live_[0-9A-Za-z]{30}$/);
    const list = await h.admin('GET', '/keys');
    const view = list.body.items.find((k: any) => k.publishable);
    assert.deepEqual(view.allowedOrigins, ['https://shop.example']);
    assert.match(view.start, /^gk_pub_live_\w{4}$/);
  });

  test('from an allowed origin, on a public-read route, it works and the answer carries CORS for that origin', async () => {
    const res = await get('/catalog/public/items', { 'x-api-key': pub, origin: 'https://shop.example' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example');
    assert.equal(res.headers.get('vary'), 'Origin');
    assert.match(res.headers.get('access-control-expose-headers') ?? '', /RateLimit/);
    assert.equal(
      (await get('/catalog/public/items', { 'x-api-key': pub, referer: 'https://shop.example/products?id=3' })).status,
      200,
      'Referer when there is no Origin',
    );
  });

  test('from another origin, or with no origin at all, it is refused', async () => {
    expectProblem(await get('/catalog/public/items', { 'x-api-key': pub, origin: 'https://evil.example' }), 403, 'FORBIDDEN');
    expectProblem(await get('/catalog/public/items', { 'x-api-key': pub }), 403, 'FORBIDDEN');
  });

  test('it never unlocks what a secret key or a token unlocks', async () => {
    const origin = { origin: 'https://shop.example' };
    expectProblem(await get('/catalog/private/orders', { 'x-api-key': pub, ...origin }), 403, 'FORBIDDEN');
    expectProblem(await get('/catalog/public/items', { 'x-api-key': pub, ...origin }, 'POST'), 403, 'FORBIDDEN');
    assert.equal((await get('/catalog/private/orders', { 'x-api-key': secret })).status, 200, 'the secret key works there');
    assert.equal((await get('/catalog/public/items', { 'x-api-key': secret })).status, 200, 'and on public-read routes too');
  });

  test('a CORS preflight is answered without a credential, and never reaches the upstream', async () => {
    const upstreamBefore = h.upstream.requests.length;
    const res = await h.fetch(`${h.gh.gatewayUrl}/catalog/public/items`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-api-key' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example');
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /X-API-Key/);
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET, HEAD');
    assert.equal(h.upstream.requests.length, upstreamBefore);
  });

  test('a publishable key needs its origins, given as origins', async () => {
    const app = (await h.admin('GET', '/apps')).body.items[0].id;
    expectProblem(await h.admin('POST', '/keys', { appId: app, publishable: true }), 400, 'VALIDATION_FAILED');
    expectProblem(await h.admin('POST', '/keys', { appId: app, publishable: true, allowedOrigins: ['https://shop.example/path'] }), 400, 'VALIDATION_FAILED');
  });
});
