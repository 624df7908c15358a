import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { call, listen, seed, startHarness, type Harness, expectProblem, startSeeded, type Seeded } from './support/harness.ts';

describe('gateway: forwarding', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded({}, { rateLimits: [{ name: 'per-minute', limit: 100, windowSeconds: 60 }] })));
  after(() => h.close());

  test('strips the credential, sets X-Forwarded-* and passes the identity upstream', async () => {
    const res = await fetch(`${h.gh.gatewayUrl}/orders/list?page=2`, {
      headers: {
        authorization: `Bearer ${ids.secret}`,
        'x-gatehouse-app': 'spoofed',
        'x-forwarded-for': '6.6.6.6',
        'x-custom': 'kept',
        'x-request-id': 'trace-123',
      },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { path: '/list?page=2', method: 'GET' });
    const seen = h.upstream.requests.at(-1)!;
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.headers['x-api-key'], undefined);
    assert.equal(seen.headers['x-gatehouse-app'], ids.appId);
    assert.equal(seen.headers['x-gatehouse-key-id'], ids.keyId);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-custom'], 'kept');
    assert.equal(seen.headers['x-request-id'], 'trace-123');
  });

  test('drops hop-by-hop fields, including those the Connection header names', async () => {
    const url = new URL(h.gh.gatewayUrl);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/orders/hop',
          headers: {
            authorization: `Bearer ${ids.secret}`,
            connection: 'keep-alive, x-hop',
            'x-hop': '1',
            'proxy-authorization': 'Basic eA==',
            te: 'trailers',
            'x-end': 'kept',
          },
        },
        (res) => (res.resume(), resolve(res.statusCode!)),
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
    const seen = h.upstream.requests.at(-1)!;
    assert.equal(seen.url, '/hop');
    for (const name of ['x-hop', 'proxy-authorization', 'te']) assert.equal(seen.headers[name], undefined, name);
    assert.equal(seen.headers['x-end'], 'kept');
  });

  test('accepts the key in X-API-Key and never from the query string, where it is refused and marked exposed', async () => {
    assert.equal((await call(h, '/orders/a', { key: ids.secret, header: 'x-api-key' })).status, 200);
    assert.equal(h.upstream.requests.at(-1)!.headers['x-api-key'], undefined);
    // Its own key: the exposure policy disables a live key sent this way.
    const leaked = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] })).body;
    const before = h.upstream.requests.length;
    const fromQuery = await call(h, `/orders/a?api_key=${leaked.secret}`);
    expectProblem(fromQuery, 400, 'CREDENTIALS_IN_QUERY');
    assert.equal(h.upstream.requests.length, before, 'never forwarded');
    assert.ok(!JSON.stringify(fromQuery.body).includes(leaked.secret));
  });

  test('streams request bodies to the upstream', async () => {
    const body = JSON.stringify({ items: Array.from({ length: 2000 }, (_, i) => i) });
    const res = await call(h, '/orders/new', { key: ids.secret, method: 'POST', body });
    assert.equal(res.status, 200);
    assert.equal(h.upstream.requests.at(-1)!.body, body);
  });

  test('successful answers carry RateLimit-Policy and RateLimit', async () => {
    const res = await call(h, '/orders/a', { key: ids.secret });
    assert.equal(res.headers.get('ratelimit-policy'), '"per-minute";q=100;w=60');
    assert.match(res.headers.get('ratelimit')!, /^"per-minute";r=\d+;t=\d+$/);
  });

  test("the gateway's RateLimit fields replace any the upstream sends", async () => {
    const res = await call(h, '/orders/upstream-ratelimit', { key: ids.secret });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('ratelimit-policy'), '"per-minute";q=100;w=60');
    assert.match(res.headers.get('ratelimit')!, /^"per-minute";r=\d+;t=\d+$/);
  });

  test('a path nobody published is 404 ROUTE_NOT_FOUND; dot segments are refused', async () => {
    const res = await call(h, '/nothing/here', { key: ids.secret });
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'ROUTE_NOT_FOUND');
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    for (const path of ['/orders/a/../../admin', '/orders/%2e%2e/x', '/orders/a%2Fb']) {
      const raw = await rawGet(h.gh.gatewayUrl, path, ids.secret);
      assert.equal(raw.status, 400, path);
    }
  });
});

describe('gateway: denials', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded({ GATEHOUSE_AUTH_FAILURES_LIMIT: '1000' })));
  after(() => h.close());

  test('401 with a Bearer challenge for a missing, malformed, unknown, expired or revoked key', async () => {
    const missing = await call(h, '/orders/a');
    expectProblem(missing, 401, 'MISSING_API_KEY');
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="gatehouse"');
    const malformed = await call(h, '/orders/a', { key: 'gk_live_nope' });
    expectProblem(malformed, 401, 'MALFORMED');
    assert.match(malformed.headers.get('www-authenticate')!, /^Bearer realm="gatehouse", error="invalid_token"/);
    const unknownSecret = ids.secret.slice(0, 8) + 'A'.repeat(24);
    const expired = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], expiresInSeconds: 1 })).body;
    const revoked = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] })).body;
    await h.admin('POST', `/keys/${revoked.id}/revoke`, { reason: 'test' });
    h.clock.advance(1000);
    expectProblem(await call(h, '/orders/a', { key: expired.secret }), 401, 'EXPIRED');
    expectProblem(await call(h, '/orders/a', { key: revoked.secret }), 401, 'REVOKED');
    // A made-up key with a valid shape but a wrong checksum never reaches the store.
    expectProblem(await call(h, '/orders/a', { key: unknownSecret + 'AAAAAA' }), 401, 'MALFORMED');
    assert.equal(JSON.stringify(malformed.body).includes('gk_live_nope'), false);
  });

  test('403 FORBIDDEN for an API, method, path or address the key may not use', async () => {
    const key = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId, methods: ['GET'], paths: ['/public/**'] }] })).body;
    assert.equal((await call(h, '/orders/public/a/b', { key: key.secret })).status, 200);
    expectProblem(await call(h, '/orders/private', { key: key.secret }), 403, 'FORBIDDEN');
    expectProblem(await call(h, '/orders/public/a', { key: key.secret, method: 'POST', body: '{}' }), 403, 'FORBIDDEN');
    const other = await h.admin('POST', '/apis', { name: 'other', listenPath: '/other', upstreamUrl: h.upstream.url });
    assert.equal(other.status, 201);
    expectProblem(await call(h, '/other/x', { key: key.secret }), 403, 'FORBIDDEN');
    const walled = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], ipAllowlist: ['203.0.113.0/24'] })).body;
    expectProblem(await call(h, '/orders/a', { key: walled.secret }), 403, 'FORBIDDEN');
    const home = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], ipAllowlist: ['127.0.0.0/8'] })).body;
    assert.equal((await call(h, '/orders/a', { key: home.secret })).status, 200);
  });

  test('403 INSUFFICIENT_SCOPE names the scope problem in the challenge', async () => {
    await h.admin('POST', '/apis', { name: 'scoped', listenPath: '/scoped', upstreamUrl: h.upstream.url, auth: { type: 'apiKey', scopes: ['reports:read'] } });
    const apis = (await h.admin('GET', '/apis?limit=100')).body.items;
    const scoped = apis.find((a: { name: string }) => a.name === 'scoped');
    const key = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: scoped.id }] })).body;
    const res = await call(h, '/scoped/r', { key: key.secret });
    expectProblem(res, 403, 'INSUFFICIENT_SCOPE');
    assert.match(res.headers.get('www-authenticate')!, /error="insufficient_scope"/);
    await h.admin('PATCH', `/keys/${key.id}`, { scopes: ['reports:read'] });
    assert.equal((await call(h, '/scoped/r', { key: key.secret })).status, 200);
  });

  test('429 with Retry-After and the RateLimit headers; refused requests never reach the upstream', async () => {
    const key = (
      await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], rateLimits: [{ name: 'per-10s', limit: 2, windowSeconds: 10 }] })
    ).body;
    await call(h, '/orders/a', { key: key.secret });
    await call(h, '/orders/a', { key: key.secret });
    const before = h.upstream.requests.length;
    const res = await call(h, '/orders/a', { key: key.secret });
    expectProblem(res, 429, 'RATE_LIMITED');
    assert.equal(res.headers.get('retry-after'), '5');
    assert.equal(res.headers.get('ratelimit-policy'), '"per-10s";q=2;w=10');
    assert.equal(res.headers.get('ratelimit'), '"per-10s";r=0;t=10');
    assert.equal(h.upstream.requests.length, before);
    h.clock.advance(5000);
    assert.equal((await call(h, '/orders/a', { key: key.secret })).status, 200);
  });

  test('an unreachable upstream is 502 and a slow one 504', async () => {
    const dead = createServer();
    const deadUrl = await listen(dead);
    await new Promise((r) => dead.close(r));
    const down = await h.admin('POST', '/apis', { name: 'down', listenPath: '/down', upstreamUrl: deadUrl });
    const slow = await h.admin('POST', '/apis', { name: 'slow', listenPath: '/slow', upstreamUrl: `${h.upstream.url}/slow`, timeoutSeconds: 0.2 });
    const key = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: down.body.id }, { apiId: slow.body.id }] })).body;
    expectProblem(await call(h, '/down/x', { key: key.secret }), 502, 'UPSTREAM_UNAVAILABLE');
    expectProblem(await call(h, '/slow/x', { key: key.secret }), 504, 'UPSTREAM_TIMEOUT');
  });

  test('a public API needs no key', async () => {
    await h.admin('POST', '/apis', { name: 'status', listenPath: '/status', upstreamUrl: h.upstream.url, auth: { type: 'public' } });
    const res = await call(h, '/status/ok');
    assert.equal(res.status, 200);
    assert.equal(h.upstream.requests.at(-1)!.headers['x-gatehouse-app'], undefined);
  });
});

describe('gateway: failed attempts are throttled per address', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '3', GATEHOUSE_AUTH_FAILURES_WINDOW_SECONDS: '60' });
  });
  after(() => h.close());

  test('after the allowed failures an address is refused before its key is checked, even a valid one', async () => {
    const ids = await seed(h);
    for (let i = 0; i < 3; i++) assert.equal((await call(h, '/orders/a', { key: 'gk_live_guess' })).status, 401);
    const blocked = await call(h, '/orders/a', { key: ids.secret });
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.code, 'AUTH_RATE_LIMITED');
    assert.equal(blocked.headers.get('retry-after'), '20');
    h.clock.advance(20_000);
    assert.equal((await call(h, '/orders/a', { key: ids.secret })).status, 200);
  });
});

function rawGet(base: string, path: string, key: string): Promise<{ status: number }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers: { authorization: `Bearer ${key}` } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode! });
    });
    req.on('error', reject);
    req.end();
  });
}
