import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { createControlServer } from '../src/control/control-server.ts';
import type { RequestRecord } from '../src/gateway/observer.ts';
import { call, expectProblem, listen, seed, startHarness, TEST_PEPPER, type Harness } from './support/harness.ts';
import { insecure, startAuthHarness, TEST_MASTER_KEY, type AuthHarness } from './support/oauth.ts';
import { parsePrometheus, type Scrape } from './support/prometheus.ts';

const scrape = async (h: Harness): Promise<Scrape> => {
  const res = await fetch(`${h.gh.controlUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
};

const DURATION = 'http_server_request_duration_seconds';
const route = (api: string, httpRoute: string, status: string, method = 'GET') => ({
  api,
  http_route: httpRoute,
  http_request_method: method,
  http_response_status_code: status,
});

describe('metrics: /metrics after a known mix of gateway requests, token requests and verifications', () => {
  let h: AuthHarness;
  let m: Scrape;
  const secrets: string[] = [];

  before(async () => {
    // Refusals from one address on purpose: keep the failure throttle out of the count.
    h = await startAuthHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '1000' });
    const api = async (body: Record<string, unknown>) => {
      const res = await h.admin('POST', '/apis', { upstreamUrl: h.upstream.url, ...body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body as { id: string; tokens: { audience: string } };
    };
    const orders = await api({ name: 'orders', listenPath: '/orders', auth: { type: 'apiKey', scopes: [], routes: [{ paths: ['/items/*'] }] } });
    await api({ name: 'billing', listenPath: '/billing' });
    await api({ name: 'down', listenPath: '/down', upstreamUrl: 'http://127.0.0.1:9', auth: { type: 'public', scopes: [] } });
    const reports = await api({ name: 'reports', listenPath: '/reports', auth: { type: 'bearer', scopes: ['reports:read'] } });
    const app = await h.admin('POST', '/apps', { name: 'Acme', owner: 'acme@example.com' });
    const key = await h.admin('POST', '/keys', {
      appId: app.body.id,
      access: [{ apiId: orders.id }],
      rateLimits: [{ name: 'hourly', limit: 3, windowSeconds: 3600 }],
    });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const client = await h.client({ name: 'Reporter', grantTypes: ['client_credentials'], scopes: ['reports:read'], apiIds: [reports.id] });

    // The gateway mix: 3 forwarded + 1 rate-limited with the key, 2 without a key, 1 forbidden, 1 route
    // not found, 1 upstream down; 2 forwarded with a token (a cache miss, then a hit) and 1 invalid token.
    const expect = async (path: string, status: number, key?: string) =>
      assert.equal((await call(h, path, key === undefined ? {} : { key })).status, status, path);
    for (let i = 0; i < 3; i++) await expect('/orders/items/1', 200, key.body.secret);
    await expect('/orders/items/1', 429, key.body.secret);
    await expect('/orders/items/2', 401);
    await expect('/orders/items/3', 401);
    await expect('/billing/invoices', 403, key.body.secret);
    await expect('/nowhere/at/all', 404);
    await expect('/down/x', 502);
    const issued = await oauth.processClientCredentialsResponse(
      h.as,
      client.client,
      await oauth.clientCredentialsGrantRequest(h.as, client.client, client.auth, { scope: 'reports:read' }, insecure),
    );
    const refused = await fetch(`${h.gh.controlUrl}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:wrong-secret`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(refused.status, 401);
    await expect('/reports/daily', 200, issued.access_token);
    await expect('/reports/daily', 200, issued.access_token);
    await expect('/reports/daily', 401, 'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln');
    // Probes on the gateway listener are not requests to an API: not counted.
    assert.equal((await fetch(`${h.gh.gatewayUrl}/livez`)).status, 200);
    secrets.push(key.body.secret, h.adminKey, client.secret!, issued.access_token, TEST_PEPPER, TEST_MASTER_KEY);
    m = await scrape(h);
  });
  after(() => h.close());

  test('request durations are counted by API, route template, method and status, every request once', () => {
    assert.equal(m.types.get(DURATION), 'histogram');
    const expected: [Record<string, string>, number][] = [
      [route('orders', '/orders/items/*', '200'), 3],
      [route('orders', '/orders/items/*', '429'), 1],
      [route('orders', '/orders/items/*', '401'), 2],
      [route('billing', '/billing', '403'), 1],
      [route('', '', '404'), 1],
      [route('down', '/down', '502'), 1],
      [route('reports', '/reports', '200'), 2],
      [route('reports', '/reports', '401'), 1],
    ];
    for (const [labels, count] of expected) assert.equal(m.value(`${DURATION}_count`, labels), count, JSON.stringify(labels));
    const counts = m.matching(`${DURATION}_count`);
    assert.equal(counts.length, expected.length, 'no other series');
    assert.equal(
      counts.reduce((sum, s) => sum + s.value, 0),
      12,
    );
    // Buckets are cumulative and end in +Inf = count; the sum is in seconds.
    for (const [labels, count] of expected) {
      const buckets = m.matching(`${DURATION}_bucket`, labels);
      assert.equal(buckets.at(-1)!.labels.le, '+Inf');
      assert.equal(buckets.at(-1)!.value, count);
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value);
      assert.ok(m.value(`${DURATION}_sum`, labels)! > 0 && m.value(`${DURATION}_sum`, labels)! < 10 * count);
    }
  });

  test('outcomes by code, limit refusals, upstream latency and upstream errors', () => {
    const outcomes: [string, string, number][] = [
      ['orders', 'FORWARDED', 3],
      ['orders', 'RATE_LIMITED', 1],
      ['orders', 'MISSING_API_KEY', 2],
      ['billing', 'FORBIDDEN', 1],
      ['', 'ROUTE_NOT_FOUND', 1],
      ['down', 'UPSTREAM_UNAVAILABLE', 1],
      ['reports', 'FORWARDED', 2],
      ['reports', 'TOKEN_INVALID', 1],
    ];
    for (const [api, outcome, n] of outcomes) assert.equal(m.value('gatehouse_gateway_requests_total', { api, outcome }), n, `${api} ${outcome}`);
    assert.equal(m.matching('gatehouse_gateway_requests_total').length, outcomes.length);
    assert.deepEqual(
      m.matching('gatehouse_gateway_limit_refusals_total').map((s) => [s.labels, s.value]),
      [[{ api: 'orders', limit: 'rate' }, 1]],
    );
    const upstream = 'gatehouse_upstream_request_duration_seconds_count';
    assert.equal(m.value(upstream, { api: 'orders', http_response_status_code: '200', error_type: '' }), 3);
    assert.equal(m.value(upstream, { api: 'reports', http_response_status_code: '200', error_type: '' }), 2);
    assert.equal(m.value(upstream, { api: 'down', http_response_status_code: '', error_type: 'unavailable' }), 1);
    assert.equal(m.matching(upstream).length, 3);
    assert.deepEqual(
      m.matching('gatehouse_upstream_errors_total').map((s) => [s.labels, s.value]),
      [[{ api: 'down', error_type: 'unavailable' }, 1]],
    );
  });

  test('credential caches, verdicts and token issuance by grant', () => {
    assert.equal(m.value('gatehouse_cache_lookups_total', { cache: 'key', result: 'miss' }), 1);
    assert.equal(m.value('gatehouse_cache_lookups_total', { cache: 'key', result: 'hit' }), 4);
    assert.equal(m.value('gatehouse_cache_lookups_total', { cache: 'token', result: 'miss' }), 2, 'the first use of the token, and the invalid one');
    assert.equal(m.value('gatehouse_cache_lookups_total', { cache: 'token', result: 'hit' }), 1);
    assert.equal(m.value('gatehouse_key_verifications_total', { result: 'VALID' }), 3);
    assert.equal(m.value('gatehouse_key_verifications_total', { result: 'RATE_LIMITED' }), 1);
    assert.equal(m.value('gatehouse_key_verifications_total', { result: 'FORBIDDEN' }), 1);
    assert.equal(m.value('gatehouse_key_verifications_total', { result: 'REVOKED' }), 0, 'every verdict has a series from the start');
    assert.equal(m.value('gatehouse_token_verifications_total', { result: 'VALID' }), 2);
    assert.equal(m.value('gatehouse_token_verifications_total', { result: 'TOKEN_INVALID' }), 1);
    assert.equal(m.value('gatehouse_oauth_token_requests_total', { grant_type: 'client_credentials', result: 'issued' }), 1);
    assert.equal(m.value('gatehouse_oauth_token_requests_total', { grant_type: 'client_credentials', result: 'invalid_client' }), 1);
  });

  test('store latency, component health, usage-flush lag and the process metrics', () => {
    assert.equal(
      m.value('gatehouse_store_operation_duration_seconds_count', { repository: 'keys', operation: 'findByHash' }),
      1,
      'one key read: the cache miss',
    );
    assert.ok(m.value('gatehouse_store_operation_duration_seconds_count', { repository: 'apis', operation: 'all' })! >= 1);
    assert.equal(m.value('gatehouse_component_up', { component: 'store' }), 1);
    assert.equal(m.value('gatehouse_ready'), 1);
    const lag = m.value('gatehouse_usage_flush_lag_seconds')!;
    assert.ok(lag >= 0 && lag < 600, String(lag));
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes'])
      assert.ok(m.matching(name).length > 0, name);
  });

  test('no secret, key or token ever appears in the scrape, and no per-key label by default', () => {
    for (const secret of secrets) assert.ok(!m.text.includes(secret), 'a secret in the scrape');
    assert.ok(!m.text.includes('gk_'), 'no key material');
    assert.ok(!/key_id|app_id/.test(m.text), 'per-key labels are opt-in');
  });
});

describe('metrics: per-key labels, switched on', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ GATEHOUSE_METRICS_PER_KEY_LABELS: 'true' });
  });
  after(() => h.close());

  test('outcome and limit counters name the app and key; histograms do not', async () => {
    const ids = await seed(h, { rateLimits: [{ name: 'tiny', limit: 2, windowSeconds: 3600 }] });
    for (let i = 0; i < 3; i++) await call(h, '/orders/x', { key: ids.secret });
    await call(h, '/orders/x');
    const m = await scrape(h);
    const byKey = { api: 'orders', app_id: ids.appId, key_id: ids.keyId };
    assert.equal(m.value('gatehouse_gateway_requests_total', { ...byKey, outcome: 'FORWARDED' }), 2);
    assert.equal(m.value('gatehouse_gateway_requests_total', { ...byKey, outcome: 'RATE_LIMITED' }), 1, 'a refused key is named too');
    assert.equal(m.value('gatehouse_gateway_requests_total', { api: 'orders', outcome: 'MISSING_API_KEY', app_id: '', key_id: '' }), 1);
    assert.equal(m.value('gatehouse_gateway_limit_refusals_total', { ...byKey, limit: 'rate' }), 1);
    assert.ok(m.matching(`${DURATION}_count`).every((s) => !('key_id' in s.labels)));
    assert.ok(!m.text.includes(ids.secret));
  });
});

describe('metrics: switched off, and refused to addresses not allowed', () => {
  test('with metrics.enabled false, /metrics is not served', async () => {
    const h = await startHarness({ GATEHOUSE_METRICS_ENABLED: 'false' });
    try {
      assert.equal(h.gh.metrics, null);
      expectProblem(await call(h, '/nothing'), 404, 'ROUTE_NOT_FOUND');
      const res = await fetch(`${h.gh.controlUrl}/metrics`);
      assert.equal(res.status, 404);
    } finally {
      await h.close();
    }
  });

  test('a peer the endpoint does not allow gets 403 ADDRESS_NOT_ALLOWED and no metrics', async () => {
    let scraped = false;
    const server = createControlServer({
      admin: () => undefined,
      authorization: () => null,
      health: () => ({ ready: true, components: {} }),
      metrics: { allows: () => false, contentType: 'text/plain', scrape: async () => ((scraped = true), 'x 1\n') },
    });
    const url = await listen(server);
    try {
      const res = await fetch(`${url}/metrics`);
      assert.equal(res.status, 403);
      assert.equal(((await res.json()) as { code: string }).code, 'ADDRESS_NOT_ALLOWED');
      assert.equal(scraped, false);
    } finally {
      server.close();
    }
  });
});

describe('gateway listener: /livez and /readyz', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('answered before routing, without credentials, exactly those paths; readiness without error texts', async () => {
    const live = await fetch(`${h.gh.gatewayUrl}/livez`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: 'live' });
    h.gh.health.failed('store', new Error('disk I/O error at /secret/path/gatehouse.db'));
    const unready = await fetch(`${h.gh.gatewayUrl}/readyz`);
    assert.equal(unready.status, 503);
    const body = (await unready.json()) as { status: string; components: Record<string, unknown> };
    assert.equal(body.status, 'not ready');
    assert.deepEqual(body.components.store, { ok: false, critical: true });
    assert.ok(!JSON.stringify(body).includes('/secret/path'), 'the error text stays on the control listener');
    h.gh.health.ok('store');
    assert.equal((await fetch(`${h.gh.gatewayUrl}/readyz`)).status, 200);
    assert.equal((await fetch(`${h.gh.gatewayUrl}/readyz`, { method: 'HEAD' })).status, 200);
    const post = await fetch(`${h.gh.gatewayUrl}/livez`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    expectProblem(await call(h, '/livez?full=1'), 404, 'ROUTE_NOT_FOUND');
    expectProblem(await call(h, '/livez/'), 404, 'ROUTE_NOT_FOUND');
  });

  test('an API published at /livez gets the paths below it; the probe path stays the gateway’s', async () => {
    const api = await h.admin('POST', '/apis', { name: 'livez', listenPath: '/livez', upstreamUrl: h.upstream.url, auth: { type: 'public', scopes: [] } });
    assert.equal(api.status, 201, JSON.stringify(api.body));
    assert.deepEqual(await (await fetch(`${h.gh.gatewayUrl}/livez`)).json(), { status: 'live' });
    const below = await call(h, '/livez/x');
    assert.equal(below.status, 200);
    assert.equal(below.body.path, '/x');
  });

  test('with gateway.healthPaths false, /livez is routed like any path', async () => {
    const off = await startHarness({ GATEHOUSE_GATEWAY_HEALTH_PATHS: 'false' });
    try {
      expectProblem(await call(off, '/livez'), 404, 'ROUTE_NOT_FOUND');
      await off.admin('POST', '/apis', { name: 'livez', listenPath: '/livez', upstreamUrl: off.upstream.url, auth: { type: 'public', scopes: [] } });
      const res = await call(off, '/livez');
      assert.equal(res.status, 200);
      assert.equal(res.body.path, '/');
    } finally {
      await off.close();
    }
  });
});

describe('the request record observers receive', () => {
  const records: RequestRecord[] = [];
  let h: Harness;
  before(async () => {
    h = await startHarness({}, undefined, undefined, { observers: [(r) => records.push(r)] });
  });
  after(() => h.close());

  const next = async (send: () => Promise<unknown>): Promise<RequestRecord> => {
    const before = records.length;
    await send();
    // The record is made when the answer is over, a tick after the client has read it.
    for (let i = 0; i < 100 && records.length === before; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(records.length, before + 1);
    return records.at(-1)!;
  };

  test('forwarded, refused and unrouted requests: route template, credential, bytes, timings; nothing secret', async () => {
    const ids = await seed(
      h,
      { rateLimits: [{ name: 'one', limit: 1, windowSeconds: 3600 }] },
      { auth: { type: 'apiKey', scopes: [], routes: [{ paths: ['/items/*'] }] } },
    );
    const forwarded = await next(() =>
      h
        .fetch(`${h.gh.gatewayUrl}/orders/items/7?secret=x`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ids.secret}`, 'user-agent': 'metrics-test' },
          body: 'hello',
        })
        .then((r) => r.text()),
    );
    const upstreamBody = JSON.stringify({ path: '/items/7?secret=x', method: 'POST' });
    assert.deepEqual(
      { ...forwarded, startedAt: 0, durationMs: 0, upstreamMs: 0 },
      {
        startedAt: 0,
        durationMs: 0,
        api: 'orders',
        apiId: ids.apiId,
        route: '/orders/items/*',
        method: 'POST',
        path: '/orders/items/7',
        // The query as sent: the request log filters it (request-entry.ts); metrics never read it.
        query: '?secret=x',
        status: 200,
        outcome: 'FORWARDED',
        denialCode: null,
        upstreamMs: 0,
        bytesIn: 5,
        bytesOut: Buffer.byteLength(upstreamBody),
        keyId: ids.keyId,
        appId: ids.appId,
        user: null,
        clientId: null,
        ip: '127.0.0.1',
        userAgent: 'metrics-test',
        requestId: null,
        traceId: null,
        aborted: false,
      },
    );
    assert.equal(forwarded.startedAt, h.clock.now, 'the gateway clock');
    assert.ok(forwarded.upstreamMs! >= 0 && forwarded.durationMs >= forwarded.upstreamMs!);

    // A chunked body is counted as it arrives; the refused key is still named.
    const chunked = new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('abc')), c.enqueue(new TextEncoder().encode('defg')), c.close()) });
    let problemText = '';
    const limited = await next(async () => {
      const res = await h.fetch(`${h.gh.gatewayUrl}/orders/items/7`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ids.secret}` },
        body: chunked,
        duplex: 'half',
      } as RequestInit);
      problemText = await res.text();
    });
    assert.equal(limited.status, 429);
    assert.equal(limited.outcome, 'RATE_LIMITED');
    assert.equal(limited.denialCode, 'RATE_LIMITED');
    assert.equal(limited.keyId, ids.keyId);
    assert.equal(limited.upstreamMs, null);
    assert.equal(limited.bytesOut, Buffer.byteLength(problemText));
    assert.equal(limited.requestId, JSON.parse(problemText).requestId);

    const lost = await next(() => call(h, '/elsewhere/..%2Fx'));
    assert.equal(lost.api, null);
    assert.equal(lost.route, null);
    assert.equal(lost.keyId, null);
    for (const r of records) assert.ok(!JSON.stringify(r).includes(ids.secret), 'no credential in a record');
  });

  test('a client that leaves while the upstream is still answering: the upstream call ends with it, observed once, as aborted', async () => {
    await h.admin('POST', '/apis', { name: 'slow', listenPath: '/slow', upstreamUrl: `${h.upstream.url}/slow`, auth: { type: 'public', scopes: [] } });
    const before = records.length;
    const started = performance.now();
    const gone = new AbortController();
    const sent = h.fetch(`${h.gh.gatewayUrl}/slow/x`, { signal: gone.signal });
    setTimeout(() => gone.abort(), 100);
    await assert.rejects(sent);
    // The upstream would answer after 1.5 s; the call ends at the disconnect, and the record comes then.
    for (let i = 0; i < 100 && records.length === before; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(performance.now() - started < 1000, 'observed when the client left, not when the upstream would have answered');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(records.length, before + 1, 'exactly one record');
    const record = records.at(-1)!;
    assert.equal(record.api, 'slow');
    assert.equal(record.aborted, true);
    assert.ok(record.outcome !== null);
    // Its duration ends where its answer did: when the connection closed, about 100 ms after the fetch
    // began (less the connection's setup, which a busy host makes tens of milliseconds), not at once.
    assert.ok(record.durationMs >= 50 && record.durationMs < 1000, String(record.durationMs));
  });
});
