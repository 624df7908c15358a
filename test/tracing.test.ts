import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { fetchFrom, seed, startHarness, TEST_PEPPER, type Harness, type Seeded } from './support/harness.ts';
import { insecure, startAuthHarness, TEST_MASTER_KEY, type AuthHarness } from './support/oauth.ts';
import { OtlpReceiver, SPAN_KIND, type ReceivedSpan } from './support/otlp-receiver.ts';

/** 127.0.0.2 plays a trusted caller (an ingress that traces), 127.0.0.1 anyone else. */
const TRUSTED = '127.0.0.2';
const TRACING_YAML = `tracing:\n  trustIncomingTraceparentFrom: ['${TRUSTED}/32']\n`;
const tracingEnv = (receiver: OtlpReceiver, extra: Record<string, string> = {}) => ({
  OTEL_TRACES_EXPORTER: 'otlp',
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_SERVICE_NAME: 'gatehouse-under-test',
  OTEL_BSP_SCHEDULE_DELAY: '20',
  GATEHOUSE_AUTH_FAILURES_LIMIT: '1000',
  ...extra,
});

/** A caller's own trace: trace id, parent span id, flags. */
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

function parseTraceparent(value: unknown): { traceId: string; parentId: string; flags: string } {
  assert.equal(typeof value, 'string', 'the upstream got a traceparent');
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value as string);
  assert.ok(match, `a W3C traceparent: ${String(value)}`);
  return { traceId: match[1]!, parentId: match[2]!, flags: match[3]! };
}

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);
const serverSpanOf = (spans: ReceivedSpan[], traceId: string) => spans.find((s) => s.traceId === traceId && s.kind === SPAN_KIND.server);

describe('OpenTelemetry traces, exported over OTLP/HTTP to a receiver on loopback', () => {
  let receiver: OtlpReceiver;
  let h: AuthHarness;
  let ids: Seeded;
  /** Everything secret the test handles: none of it may reach the collector. */
  const secrets: string[] = [];
  const lastUpstream = () => h.upstream.requests.at(-1)!;

  before(async () => {
    receiver = await new OtlpReceiver().start();
    h = await startAuthHarness(tracingEnv(receiver), TRACING_YAML);
    ids = await seed(h);
    secrets.push(ids.secret, h.adminKey, TEST_PEPPER, TEST_MASTER_KEY);
  });
  after(async () => {
    await h?.close();
    await receiver.close();
  });

  test('a request with a key: a SERVER span with the HTTP and Gatehouse attributes, verify-key and an upstream CLIENT span under it, and the upstream gets a traceparent naming the CLIENT span', async () => {
    const res = await fetch(`${h.gh.gatewayUrl}/orders/items/7?page=2&note=query-value-never-exported`, {
      headers: { 'x-api-key': ids.secret, 'user-agent': 'trace-test/1.0' },
    });
    assert.equal(res.status, 200);
    await res.text();
    const upstream = parseTraceparent(lastUpstream().headers.traceparent);
    assert.equal(upstream.flags, '01', 'sampled (ratio 1 by default)');
    await receiver.waitFor((spans) => spans.some((s) => s.traceId === upstream.traceId && s.kind === SPAN_KIND.server), 'the SERVER span');

    const server = serverSpanOf(receiver.spans, upstream.traceId)!;
    assert.equal(server.name, 'GET /orders');
    assert.equal(server.parentSpanId, '', 'a new trace: the caller sent no traceparent');
    assert.equal(server.resource['service.name'], 'gatehouse-under-test');
    assert.equal(typeof server.resource['service.version'], 'string');
    const port = Number(new URL(h.gh.gatewayUrl).port);
    assert.deepEqual(
      { ...server.attributes },
      {
        'http.request.method': 'GET',
        'url.scheme': 'http',
        'url.path': '/orders/items/7',
        'http.route': '/orders',
        'http.response.status_code': 200,
        'server.address': '127.0.0.1',
        'server.port': port,
        'client.address': '127.0.0.1',
        'network.protocol.version': '1.1',
        'user_agent.original': 'trace-test/1.0',
        'gatehouse.api': 'orders',
        'gatehouse.key_id': ids.keyId,
        'gatehouse.app_id': ids.appId,
      },
    );
    assert.equal(server.status, 0, 'a 200 leaves the status unset');

    const children = childrenOf(receiver.spans, server);
    const verifyKey = children.find((s) => s.name === 'verify-key');
    assert.ok(verifyKey, `verify-key under the SERVER span: ${children.map((s) => s.name).join(', ')}`);
    assert.equal(verifyKey.kind, SPAN_KIND.internal);
    assert.equal(verifyKey.attributes['gatehouse.key_id'], ids.keyId);
    const client = children.find((s) => s.kind === SPAN_KIND.client);
    assert.ok(client, 'the upstream call is a CLIENT span under the SERVER span');
    assert.equal(client.name, 'GET');
    assert.equal(client.spanId, upstream.parentId, "the upstream's parent is our CLIENT span");
    assert.equal(client.attributes['http.response.status_code'], 200);
    assert.equal(client.attributes['url.full'], `${h.upstream.url}/items/7`, 'the upstream URL, without the query string');
    assert.equal(client.attributes['server.address'], '127.0.0.1');
  });

  test('a denied request: the SERVER span names the denial code and the request id, verify-key the same code; nothing forwarded, no CLIENT span', async () => {
    const forwarded = h.upstream.requests.length;
    const wrong = `${ids.secret.slice(0, -6)}AAAAAA`;
    secrets.push(wrong);
    const res = await fetch(`${h.gh.gatewayUrl}/orders/items`, { headers: { 'x-api-key': wrong } });
    const body = (await res.json()) as { code: string };
    assert.equal(res.status, 401);
    assert.equal(h.upstream.requests.length, forwarded);
    const requestId = res.headers.get('x-request-id')!;
    await receiver.waitFor((spans) => spans.some((s) => s.attributes['gatehouse.request_id'] === requestId), 'the denied request’s span');
    const server = receiver.spans.find((s) => s.attributes['gatehouse.request_id'] === requestId)!;
    assert.equal(server.kind, SPAN_KIND.server);
    assert.equal(server.attributes['gatehouse.denial_code'], body.code);
    assert.equal(server.attributes['http.response.status_code'], 401);
    assert.equal(server.attributes['gatehouse.key_id'], undefined);
    assert.equal(server.status, 0, 'a 4xx is the client’s: status unset on a SERVER span');
    const children = childrenOf(receiver.spans, server);
    assert.equal(children.find((s) => s.name === 'verify-key')?.attributes['gatehouse.denial_code'], body.code);
    assert.equal(children.filter((s) => s.kind === SPAN_KIND.client).length, 0);
  });

  test("a trusted caller's traceparent: our SERVER span continues its trace, its children follow, and the upstream gets the trace with our CLIENT span as parent and the caller's tracestate", async () => {
    const res = await fetchFrom(TRUSTED)(`${h.gh.gatewayUrl}/orders/trusted`, {
      headers: { 'x-api-key': ids.secret, traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, tracestate: 'vendor=abc' },
    });
    assert.equal(res.status, 200);
    await res.text();
    const seen = lastUpstream();
    const upstream = parseTraceparent(seen.headers.traceparent);
    assert.equal(upstream.traceId, CALLER_TRACE);
    assert.notEqual(upstream.parentId, CALLER_SPAN, 'the parent is our span, not the caller’s');
    assert.equal(seen.headers.tracestate, 'vendor=abc');
    await receiver.waitFor((spans) => spans.some((s) => s.traceId === CALLER_TRACE && s.kind === SPAN_KIND.client), 'the trusted trace');
    const server = serverSpanOf(receiver.spans, CALLER_TRACE)!;
    assert.equal(server.parentSpanId, CALLER_SPAN, 'incoming traceparent → our SERVER span');
    assert.equal(server.attributes['client.address'], TRUSTED);
    const children = childrenOf(receiver.spans, server);
    assert.ok(children.some((s) => s.name === 'verify-key'));
    assert.equal(children.find((s) => s.kind === SPAN_KIND.client)!.spanId, upstream.parentId, 'SERVER span → CLIENT span → the upstream');
  });

  test("an untrusted caller's traceparent is ignored: a new trace sampled by our ratio (its sampled=0 too), and the upstream never sees the caller's ids", async () => {
    const forged = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    for (const flags of ['01', '00']) {
      const res = await fetch(`${h.gh.gatewayUrl}/orders/untrusted-${flags}`, {
        headers: { 'x-api-key': ids.secret, traceparent: `00-${forged}-${CALLER_SPAN}-${flags}`, tracestate: 'evil=1' },
      });
      assert.equal(res.status, 200);
      await res.text();
      const seen = lastUpstream();
      const upstream = parseTraceparent(seen.headers.traceparent);
      assert.notEqual(upstream.traceId, forged);
      assert.notEqual(upstream.parentId, CALLER_SPAN);
      assert.equal(upstream.flags, '01', 'our sampler decided, not the caller');
      assert.equal(seen.headers.tracestate, undefined, "the caller's tracestate is not passed on");
      await receiver.waitFor((spans) => spans.some((s) => s.traceId === upstream.traceId && s.kind === SPAN_KIND.server), 'the new trace');
      assert.equal(serverSpanOf(receiver.spans, upstream.traceId)!.parentSpanId, '');
    }
    assert.ok(!receiver.spans.some((s) => s.traceId === forged), 'a span in the forged trace');
    assert.ok(!receiver.spans.some((s) => s.parentSpanId === CALLER_SPAN && s.traceId !== CALLER_TRACE), 'a span under the forged parent');
  });

  test('the token endpoint and the admin API are traced too (SERVER spans named by their route), and bearer requests get a verify-token span', async () => {
    const api = await h.api('billing', ['billing:read'], { auth: { type: 'bearer' } });
    const machine = await h.client({ name: 'Traced machine', grantTypes: ['client_credentials'], scopes: ['billing:read'], apiIds: [api.id] });
    secrets.push(machine.secret!);
    const tokens = await oauth.processClientCredentialsResponse(
      h.as,
      machine.client,
      await oauth.clientCredentialsGrantRequest(h.as, machine.client, machine.auth, { resource: api.audience, scope: 'billing:read' }, insecure),
    );
    secrets.push(tokens.access_token);
    await receiver.waitFor((spans) => spans.some((s) => s.name === 'POST /token'), 'the token endpoint span');
    const tokenSpan = receiver.spans.find((s) => s.name === 'POST /token')!;
    assert.equal(tokenSpan.kind, SPAN_KIND.server);
    assert.equal(tokenSpan.attributes['http.route'], '/token');
    assert.equal(tokenSpan.attributes['http.response.status_code'], 200);
    assert.equal(tokenSpan.attributes['gatehouse.client_id'], machine.id);
    assert.equal(tokenSpan.attributes['gatehouse.grant_type'], 'client_credentials');

    const res = await fetch(`${h.gh.gatewayUrl}/billing/invoices`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(res.status, 200);
    await res.text();
    const upstream = parseTraceparent(lastUpstream().headers.traceparent);
    await receiver.waitFor((spans) => spans.some((s) => s.traceId === upstream.traceId && s.name === 'verify-token'), 'the verify-token span');
    const server = serverSpanOf(receiver.spans, upstream.traceId)!;
    assert.equal(server.attributes['gatehouse.client_id'], machine.id);
    assert.equal(receiver.spans.find((s) => s.traceId === upstream.traceId && s.name === 'verify-token')!.parentSpanId, server.spanId);

    const key = await h.admin('GET', `/keys/${ids.keyId}`);
    assert.equal(key.status, 200);
    const adminRequestId = key.headers.get('x-request-id');
    await receiver.waitFor((spans) => spans.some((s) => s.attributes['gatehouse.request_id'] === adminRequestId), 'the admin API span');
    const admin = receiver.spans.find((s) => s.attributes['gatehouse.request_id'] === adminRequestId)!;
    assert.equal(admin.kind, SPAN_KIND.server);
    assert.equal(admin.name, 'GET /admin/v1/keys/:id');
    assert.equal(admin.attributes['http.route'], '/admin/v1/keys/:id');
    assert.equal(admin.attributes['url.path'], `/admin/v1/keys/${ids.keyId}`);
    assert.equal(typeof admin.attributes['gatehouse.admin_key_id'], 'string');
  });

  test('no secret reaches the collector: keys, admin key, client secret, token, pepper, master key, query values; a key sent in a path is replaced', async () => {
    const res = await fetch(`${h.gh.gatewayUrl}/orders/lookup/${ids.secret}`, { headers: { 'x-api-key': ids.secret } });
    assert.equal(res.status, 200);
    await res.text();
    const upstream = parseTraceparent(lastUpstream().headers.traceparent);
    await receiver.waitFor((spans) => spans.some((s) => s.traceId === upstream.traceId && s.kind === SPAN_KIND.server), 'the span');
    assert.equal(serverSpanOf(receiver.spans, upstream.traceId)!.attributes['url.path'], '/orders/lookup/{secret}');
    const everything = receiver.payloads.join('\n');
    assert.ok(secrets.length >= 7);
    for (const secret of secrets) assert.ok(!everything.includes(secret), `a secret (${secret.slice(0, 8)}…) was exported`);
    assert.ok(!everything.includes('query-value-never-exported'), 'a query string value was exported');
  });

  test('a control-plane path that hides a key behind percent-encoding, or carries a JWT, is recorded with the secret replaced, as the request log records it', async () => {
    const hidden = ids.secret.replaceAll('_', '%5F');
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0cmFjZWQtcGF0aC11c2VyIn0.c2lnbmF0dXJlLW9mLWEtdHJhY2VkLXBhdGg';
    const cases: [path: string, recorded: string][] = [
      [`/admin/v1/keys/${hidden}`, '/admin/v1/keys/{secret}'],
      [`/admin/v1/keys/${jwt}`, '/admin/v1/keys/{secret}'],
    ];
    for (const [path, expected] of cases) {
      const res = await h.admin('GET', path.slice('/admin/v1'.length));
      assert.equal(res.status, 404);
      const requestId = res.headers.get('x-request-id');
      await receiver.waitFor((spans) => spans.some((s) => s.attributes['gatehouse.request_id'] === requestId), 'the admin API span');
      assert.equal(receiver.spans.find((s) => s.attributes['gatehouse.request_id'] === requestId)!.attributes['url.path'], expected);
    }
    const everything = receiver.payloads.join('\n');
    const random = ids.secret.slice(ids.secret.lastIndexOf('_') + 1);
    assert.ok(!everything.includes(random), "the key's random part was exported");
    assert.ok(!everything.includes(jwt.split('.')[1]!), "the JWT's payload was exported");
  });

  test('an X-Request-Id that is a key or a JWT is not adopted: the span records the id the gateway made instead', async () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0cmFjZWQtcmVxdWVzdC1pZCJ9.c2lnbmF0dXJlLW9mLWEtcmVxdWVzdC1pZA';
    for (const incoming of [ids.secret, jwt]) {
      const res = await fetch(`${h.gh.gatewayUrl}/orders/items/9`, { headers: { 'x-api-key': ids.secret, 'x-request-id': incoming } });
      assert.equal(res.status, 200);
      await res.text();
      const seen = lastUpstream();
      const upstream = parseTraceparent(seen.headers.traceparent);
      await receiver.waitFor((spans) => spans.some((s) => s.traceId === upstream.traceId && s.kind === SPAN_KIND.server), 'the gateway span');
      assert.equal(serverSpanOf(receiver.spans, upstream.traceId)!.attributes['gatehouse.request_id'], seen.headers['x-request-id']);
    }
    const everything = receiver.payloads.join('\n');
    assert.ok(!everything.includes(ids.secret), 'the key was exported');
    assert.ok(!everything.includes(jwt.split('.')[1]!), "the JWT's payload was exported");
  });

  test('a grant_type that is a JWT (an assertion sent in the wrong parameter) is recorded with it replaced', async () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0cmFjZWQtZ3JhbnQtdHlwZSJ9.c2lnbmF0dXJlLW9mLWEtZ3JhbnQtdHlwZQ';
    const before = receiver.spans.filter((s) => s.name === 'POST /token').length;
    const res = await fetch(h.as.token_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: jwt, client_id: 'nobody' }),
    });
    assert.equal(res.status >= 400, true);
    await res.text();
    await receiver.waitFor((spans) => spans.filter((s) => s.name === 'POST /token').length > before, 'the token endpoint span');
    const span = receiver.spans.filter((s) => s.name === 'POST /token').at(-1)!;
    assert.equal(span.attributes['gatehouse.grant_type'], '{secret}');
    assert.ok(!receiver.payloads.join('\n').includes(jwt.split('.')[1]!), "the JWT's payload was exported");
  });

  test('a user agent that carries a key or a JWT is recorded with the secret replaced, on gateway and control-plane spans, as the request log records it', async () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0cmFjZWQtYWdlbnQtdXNlciJ9.c2lnbmF0dXJlLW9mLWEtdHJhY2VkLWFnZW50';
    const agent = `scripted/2.0 (key=${ids.secret}; token=${jwt})`;
    const res = await fetch(`${h.gh.gatewayUrl}/orders/items/8`, { headers: { 'x-api-key': ids.secret, 'user-agent': agent } });
    assert.equal(res.status, 200);
    await res.text();
    const upstream = parseTraceparent(lastUpstream().headers.traceparent);
    await receiver.waitFor((spans) => spans.some((s) => s.traceId === upstream.traceId && s.kind === SPAN_KIND.server), 'the gateway span');
    const admin = await fetch(`${h.gh.controlUrl}/admin/v1/keys/${ids.keyId}`, { headers: { authorization: `Bearer ${h.adminKey}`, 'user-agent': agent } });
    assert.equal(admin.status, 200);
    await admin.text();
    const requestId = admin.headers.get('x-request-id');
    await receiver.waitFor((spans) => spans.some((s) => s.attributes['gatehouse.request_id'] === requestId), 'the admin API span');
    const expected = 'scripted/2.0 (key={secret}; token={secret})';
    assert.equal(serverSpanOf(receiver.spans, upstream.traceId)!.attributes['user_agent.original'], expected);
    assert.equal(receiver.spans.find((s) => s.attributes['gatehouse.request_id'] === requestId)!.attributes['user_agent.original'], expected);
    const everything = receiver.payloads.join('\n');
    assert.ok(!everything.includes(ids.secret), 'the key was exported');
    assert.ok(!everything.includes(jwt.split('.')[1]!), "the JWT's payload was exported");
  });
});

describe('head sampling: a ratio for new traces, the trusted parent’s decision for continued ones', () => {
  let receiver: OtlpReceiver;
  let h: Harness;
  let ids: Seeded;
  before(async () => {
    receiver = await new OtlpReceiver().start();
    h = await startHarness(tracingEnv(receiver, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }), undefined, TRACING_YAML);
    ids = await seed(h);
  });
  after(async () => {
    await h?.close();
    await receiver.close();
  });

  test('ratio 0: a new trace is not recorded, yet the upstream learns its id and the decision (sampled=0); a trusted sampled parent is followed', async () => {
    const res = await fetch(`${h.gh.gatewayUrl}/orders/unsampled`, { headers: { 'x-api-key': ids.secret } });
    assert.equal(res.status, 200);
    await res.text();
    const unsampled = parseTraceparent(h.upstream.requests.at(-1)!.headers.traceparent);
    assert.equal(unsampled.flags, '00');

    const trusted = await fetchFrom(TRUSTED)(`${h.gh.gatewayUrl}/orders/sampled`, {
      headers: { 'x-api-key': ids.secret, traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
    });
    assert.equal(trusted.status, 200);
    await trusted.text();
    assert.equal(parseTraceparent(h.upstream.requests.at(-1)!.headers.traceparent).flags, '01');
    await receiver.waitFor((spans) => spans.some((s) => s.traceId === CALLER_TRACE && s.kind === SPAN_KIND.client), 'the trusted, sampled trace');
    assert.ok(!receiver.spans.some((s) => s.traceId === unsampled.traceId), 'the unsampled trace was exported');
  });
});

describe('tracing off (the default)', () => {
  let receiver: OtlpReceiver;
  let h: Harness;
  let ids: Seeded;
  before(async () => {
    receiver = await new OtlpReceiver().start();
    // A collector endpoint alone does not turn tracing on.
    h = await startHarness({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '20' });
    ids = await seed(h);
  });
  after(async () => {
    await h?.close();
    await receiver.close();
  });

  test('nothing is exported and no traceparent is added upstream; a caller’s own passes through untouched', async () => {
    assert.equal((await fetch(`${h.gh.gatewayUrl}/orders/a`, { headers: { 'x-api-key': ids.secret } })).status, 200);
    assert.equal(h.upstream.requests.at(-1)!.headers.traceparent, undefined);
    assert.equal((await fetch(`${h.gh.gatewayUrl}/orders/a`, { headers: { 'x-api-key': 'gk_live_wrong' } })).status, 401);
    const own = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`;
    assert.equal((await fetch(`${h.gh.gatewayUrl}/orders/b`, { headers: { 'x-api-key': ids.secret, traceparent: own } })).status, 200);
    assert.equal(h.upstream.requests.at(-1)!.headers.traceparent, own);
    await h.admin('GET', '/keys');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(receiver.payloads.length, 0);
    assert.equal(h.gh.health.report().components['trace-export'], undefined);
  });
});
