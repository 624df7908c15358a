import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, expectProblem, fetchFrom, seed, startHarness, type Harness } from './support/harness.ts';
import { beyondCap, raw } from './support/raw-connection.ts';

describe('gateway hardening: client addresses, request smuggling, limits and timeouts', () => {
  let h: Harness;
  let secret: string;

  before(async () => {
    h = await startHarness({ GATEHOUSE_GATEWAY_HEADERS_TIMEOUT_SECONDS: '1', GATEHOUSE_GATEWAY_MAX_BODY_BYTES: '1000' });
    ({ secret } = await seed(h, { ipAllowlist: ['10.0.0.0/8', '127.0.0.1/32'] }));
  });
  after(() => h.close());

  test('a spoofed X-Forwarded-For from an untrusted peer is ignored: the IP allowlist sees the real address', async () => {
    const res = await fetch(`${h.gh.gatewayUrl}/orders/x`, {
      headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': '10.0.0.5', 'x-forwarded-proto': 'https' },
    });
    assert.equal(res.status, 200, 'allowed as 127.0.0.1, its real address');
    assert.equal(h.upstream.requests.at(-1)!.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(h.upstream.requests.at(-1)!.headers['x-forwarded-proto'], 'http');
    const apiId = (await h.admin('GET', '/apis')).body.items[0].id;
    const onlyTen = await h.admin('POST', '/keys', {
      appId: (await h.admin('GET', '/apps')).body.items[0].id,
      access: [{ apiId }],
      ipAllowlist: ['10.0.0.0/8'],
    });
    const spoofed = await fetch(`${h.gh.gatewayUrl}/orders/x`, { headers: { authorization: `Bearer ${onlyTen.body.secret}`, 'x-forwarded-for': '10.0.0.5' } });
    assert.equal(spoofed.status, 403, 'claiming 10.0.0.5 does not unlock a key limited to 10.0.0.0/8');
  });

  test('a body over the limit gets 413: at once when declared, as it streams when chunked', async () => {
    const before = h.upstream.requests.length;
    expectProblem(await call(h, '/orders/x', { key: secret, method: 'POST', body: 'x'.repeat(1001) }), 413, 'BODY_TOO_LARGE');
    assert.equal(h.upstream.requests.length, before, 'a declared body over the limit is never forwarded');
    const chunks = ['x'.repeat(600), 'x'.repeat(600)];
    const stream = new ReadableStream({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(new TextEncoder().encode(next));
        else c.close();
      },
    });
    const chunked = await fetch(`${h.gh.gatewayUrl}/orders/x`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.equal((await call(h, '/orders/x', { key: secret, method: 'POST', body: 'x'.repeat(1000) })).status, 200);
  });

  test('Content-Length with Transfer-Encoding is refused and nothing reaches the upstream', async () => {
    const before = h.upstream.requests.length;
    const { text } = await raw(
      h.gh.gatewayUrl,
      `POST /orders/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /orders/smuggled HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 400/);
    assert.equal(h.upstream.requests.length, before);
  });

  test('a request head larger than the limit gets 431', async () => {
    assert.notEqual((await call(h, '/orders/x', { key: secret })).status, 431, 'a normal head passes');
    const { text } = await raw(h.gh.gatewayUrl, `GET /orders/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 431/);
  });

  test('a client that sends its head too slowly is cut off after the headers timeout', async () => {
    // Node's own timer (1 s here, checked every second) is under test, so this waits in real time,
    // for the gateway to close the connection; 4 s is only the deadline.
    const { closed, text, ms } = await raw(h.gh.gatewayUrl, 'GET /orders/x HTTP/1.1\r\nHost: x\r\n', 4000);
    assert.equal(closed, true);
    assert.ok(ms >= 900, `closed after ${Math.round(ms)} ms: by the headers timeout, not at once`);
    assert.match(text, /^HTTP\/1\.1 408|^$/);
  });

  test('an unknown API path with dot segments or encoded slashes is refused before routing tricks work', async () => {
    // Sent raw: fetch would resolve the dot segments itself.
    const { text } = await raw(
      h.gh.gatewayUrl,
      `GET /orders/../admin/v1/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 400/);
    assert.match(text, /PATH_NOT_CANONICAL/);
    const encoded = await raw(h.gh.gatewayUrl, `GET /orders/%2e%2e/admin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nConnection: close\r\n\r\n`);
    assert.match(encoded.text, /^HTTP\/1\.1 400/);
    // The path is made canonical before the route is looked up: an encoded "/" is refused there.
    expectProblem(await call(h, '/orders%2fadmin', { key: secret }), 400, 'PATH_NOT_CANONICAL');
  });
});

describe('gateway connection cap', () => {
  // A harness of its own: fetch's pooled keep-alive connections from other tests would take slots.
  let h: Harness;
  before(async () => {
    h = await startHarness({ GATEHOUSE_GATEWAY_MAX_CONNECTIONS: '5' });
  });
  after(() => h.close());

  test('connections beyond the cap are closed at once, without an answer', async () => {
    // Five kept-alive connections, each answered once (an answer shows the gateway counts it), then a sixth.
    const { closed, text } = await beyondCap(h.gh.gatewayUrl, 5, 'GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(closed, true);
    assert.equal(text, '', 'no answer: the connection was dropped');
  });
});

describe('gateway behind a trusted proxy', () => {
  let h: Harness;
  let secret: string;

  before(async () => {
    h = await startHarness({}, undefined, 'gateway:\n  trustedProxies: ["127.0.0.1/32"]\n');
    ({ secret } = await seed(h, { ipAllowlist: ['10.0.0.0/8'] }));
  });
  after(() => h.close());

  test('X-Forwarded-For and X-Forwarded-Proto from the trusted proxy are believed and passed on', async () => {
    const res = await fetch(`${h.gh.gatewayUrl}/orders/x`, {
      headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': '198.51.100.1, 10.0.0.5', 'x-forwarded-proto': 'https' },
    });
    assert.equal(res.status, 200);
    const seen = h.upstream.requests.at(-1)!.headers;
    assert.equal(seen['x-forwarded-for'], '10.0.0.5');
    assert.equal(seen['x-forwarded-proto'], 'https');
  });
});

describe('gateway: the failure throttle follows the route’s requirement, not the API’s default', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '5', GATEHOUSE_AUTH_FAILURES_WINDOW_SECONDS: '60' });
  });
  after(() => h.close());

  test('on a public API, a key-protected route throttles bad keys: the sixth attempt is 429', async () => {
    const { secret } = await seed(h, {}, { name: 'site', listenPath: '/site', auth: { type: 'public', routes: [{ paths: ['/admin/**'], type: 'apiKey' }] } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(h, '/site/admin/users', { key: `gk_live_guess${i}` })).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    const blocked = await call(h, '/site/admin/users', { key: secret });
    expectProblem(blocked, 429, 'AUTH_RATE_LIMITED');
    assert.equal(blocked.headers.get('retry-after'), '12');
    assert.equal((await call(h, '/site/home')).status, 200, 'the public part stays open to the address');
  });

  test('on a key API, a public route is served to an address the throttle holds back', async () => {
    const res = await h.admin('POST', '/apis', {
      name: 'shop',
      listenPath: '/shop',
      upstreamUrl: h.upstream.url,
      auth: { type: 'apiKey', routes: [{ paths: ['/health'], type: 'public' }] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const from = fetchFrom('127.0.0.2');
    const get = async (path: string, key?: string) =>
      (await from(`${h.gh.gatewayUrl}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} })).status;
    for (let i = 0; i < 5; i++) assert.equal(await get('/shop/orders', `gk_live_guess${i}`), 401);
    assert.equal(await get('/shop/orders', 'gk_live_guess'), 429);
    assert.equal(await get('/shop/health'), 200);
  });
});
