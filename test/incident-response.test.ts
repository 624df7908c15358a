import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TOKEN_EXCHANGE_GRANT } from '../src/control/authorization/token-exchange.ts';
import { markExposed } from '../src/control/services/exposure.ts';
import { runCli } from './support/cli.ts';
import { call, expectProblem, fetchFrom, HTTPS_GATEWAY, seed, startHarness, type Harness } from './support/harness.ts';
import { exchangeKey, startAuthHarness, type AuthHarness } from './support/oauth.ts';
import { waitFor } from './support/wait.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A leaked key, end to end: a known mix of requests from known addresses before and after its
 * exposure (a key sent in a query string), tokens exchanged from it, then `compromised` in one step,
 * and every figure of the impact report checked against what was sent.
 */
describe('a leaked key: exposed, compromised in one step, and its impact report', () => {
  let h: AuthHarness;
  let partner: { id: string; audience: string };
  let appId: string;
  let exchanger: Awaited<ReturnType<AuthHarness['client']>>;
  let key: { id: string; secret: string };
  /** Every answer the gateway gave for the key, in order: the report must add up to these. */
  const sent: { at: number; end: number; address: string; status: number; bytes: number; agent: string; token: boolean }[] = [];
  let exposedAt = 0;
  let compromisedAt = 0;
  let compromise: any;
  const tokens: string[] = [];
  let lastAnswer: { status: number; headers: Headers; body: any };
  let oldKeyAnswer: typeof lastAnswer;
  const tokenAnswers: Awaited<ReturnType<typeof call>>[] = [];
  let replacementStatus = 0;

  /** One request from `address`: with the key (X-API-Key) or a token (Bearer); the answer's body bytes are recorded. */
  const send = async (address: string, path: string, o: { key?: string; token?: string; method?: string; agent: string; record?: boolean }) => {
    const headers: Record<string, string> = { 'user-agent': o.agent };
    if (o.key) headers['x-api-key'] = o.key;
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    const at = h.clock.read();
    const res = await fetchFrom(address)(`${h.gh.gatewayUrl}${path}`, { method: o.method ?? 'GET', headers });
    const raw = Buffer.from(await res.arrayBuffer());
    if (o.record !== false)
      sent.push({ at, end: h.clock.read(), address, status: res.status, bytes: raw.byteLength, agent: o.agent, token: o.token !== undefined });
    lastAnswer = { status: res.status, headers: res.headers, body: JSON.parse(raw.toString('utf8')) };
    return res.status;
  };
  const exchange = async (secret: string) => (await exchangeKey(h, exchanger, secret)).access_token;
  const report = async (query = '') => {
    await h.gh.requestLog!.flush();
    const res = await h.admin('GET', `/keys/${key.id}/impact${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const APP = 'acme-app/1.0';
  /** A time the report gives for a request: between the moment it was sent and its answer. */
  const within = (time: string, s: { at: number; end: number }) => {
    const t = Date.parse(time);
    assert.ok(t >= s.at && t <= s.end, `${time} within ${iso(s.at)}..${iso(s.end)}`);
  };
  const CURL = 'curl/8.5.0';

  before(async () => {
    // Flag only: the stolen key keeps working after its exposure, as it would until someone acts.
    h = await startAuthHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '1000', GATEHOUSE_EXPOSURE_LIVE: 'flag' });
    // Tokens everywhere, except /keyed/**, where the key itself is the credential.
    partner = await h.api('partner', [], { auth: { type: 'bearer', routes: [{ paths: ['/keyed/**'], type: 'apiKey' }] } });
    appId = (await h.admin('POST', '/apps', { name: 'Acme' })).body.id;
    exchanger = await h.client({ name: 'Acme edge', grantTypes: [TOKEN_EXCHANGE_GRANT], scopes: [], apiIds: [partner.id], exchangeAppId: appId });
    const created = await h.admin('POST', '/keys', { appId, name: 'acme production', access: [{ apiId: partner.id, methods: ['GET'] }] });
    key = { id: created.body.id, secret: created.body.secret };

    // Before the exposure: the owner's own traffic, from two addresses, and one exchanged token used once.
    for (let i = 0; i < 3; i++) assert.equal(await send('127.0.0.1', `/partner/keyed/orders/${i}`, { key: key.secret, agent: APP }), 200);
    assert.equal(await send('127.0.0.2', '/partner/keyed/orders', { key: key.secret, agent: APP }), 200);
    tokens.push(await exchange(key.secret));
    assert.equal(await send('127.0.0.1', '/partner/items', { token: tokens[0], agent: APP }), 200);
    h.clock.advance(60_000);

    // The leak: the key sent in a URL's query string, twice. Refused, never a credential, and one exposure.
    for (let i = 0; i < 2; i++) {
      const leaked = await fetchFrom('127.0.0.3')(`${h.gh.gatewayUrl}/partner/keyed/orders?api_key=${key.secret}`);
      assert.equal(leaked.status, 400);
      assert.equal(((await leaked.json()) as { code: string }).code, 'CREDENTIALS_IN_QUERY');
    }
    await waitFor(async () => (await h.admin('GET', `/keys/${key.id}`)).body.exposedAt, { what: 'the key marked exposed' });
    exposedAt = Date.parse((await h.admin('GET', `/keys/${key.id}`)).body.exposedAt);
    h.clock.advance(60_000);

    // After it: the attacker (127.0.0.3, curl) and the owner (127.0.0.1) both use the key; the attacker exchanges a token.
    for (let i = 0; i < 2; i++) assert.equal(await send('127.0.0.3', '/partner/keyed/customers', { key: key.secret, agent: CURL }), 200);
    assert.equal(await send('127.0.0.3', '/partner/keyed/customers', { key: key.secret, agent: CURL, method: 'POST' }), 403);
    assert.equal(await send('127.0.0.1', '/partner/keyed/orders/7', { key: key.secret, agent: APP }), 200);
    tokens.push(await exchange(key.secret));
    for (let i = 0; i < 2; i++) assert.equal(await send('127.0.0.3', '/partner/items', { token: tokens[1], agent: CURL }), 200);
    h.clock.advance(60_000);

    const res = await h.admin('POST', `/keys/${key.id}/compromised`, { reason: 'found in a public paste' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    compromise = res.body;
    compromisedAt = h.clock.read();
    // At once: the old key refused (a request of the key's, counted in its report), the tokens and the replacement checked below.
    assert.equal(await send('127.0.0.3', '/partner/keyed/customers', { key: key.secret, agent: CURL }), 401);
    await send('127.0.0.1', '/partner/keyed/orders', { key: key.secret, agent: APP });
    oldKeyAnswer = lastAnswer!;
    for (const token of tokens) tokenAnswers.push(await call(h, '/partner/items', { key: token }));
    replacementStatus = (await call(h, '/partner/keyed/orders', { key: compromise.replacement.secret, header: 'x-api-key' })).status;
  });
  after(() => h.close());

  test('compromised: the key and both exchanged tokens revoked, a replacement with the same settings, in one answer', async () => {
    assert.equal(compromise.key.id, key.id);
    assert.equal(compromise.key.status, 'revoked');
    assert.equal(compromise.key.revokedReason, 'found in a public paste');
    assert.equal(compromise.tokensRevoked, 2);
    assert.equal(compromise.revokedTokenIds.length, 2);
    const replacement = compromise.replacement;
    assert.match(replacement.secret, /^gk_live_/);
    assert.equal(replacement.rotatedFrom, key.id);
    assert.equal(compromise.key.replacedBy, replacement.id);
    assert.deepEqual(replacement.access, [{ apiId: partner.id, methods: ['GET'] }], 'the same settings');
    assert.equal(replacement.name, 'acme production');
    assert.equal(replacement.status, 'active');
    assert.equal(replacement.exposedAt, null);
    assert.match(compromise.summary, new RegExp(`revoked key ${key.id} and 2 tokens`));
    assert.ok(
      !JSON.stringify((await h.admin('GET', `/audit?targetId=${key.id}&action=key.compromised`)).body).includes(replacement.secret),
      'no secret in the audit log',
    );
  });

  test('the old key is refused at once (REVOKED), the exchanged tokens too (TOKEN_REVOKED), and the replacement works', async () => {
    expectProblem(oldKeyAnswer, 401, 'REVOKED');
    assert.equal(tokenAnswers.length, 2);
    for (const answer of tokenAnswers) expectProblem(answer, 401, 'TOKEN_REVOKED');
    assert.equal(replacementStatus, 200);
    const revocations = await h.gh.ctx.store.revocations.since(0, h.clock.read());
    assert.deepEqual(revocations.map((r) => r.id).sort(), [...compromise.revokedTokenIds].sort());
  });

  test('the query-string exposure was recorded once, with its source and address, and announced with the action taken', async () => {
    const exposed = (await h.admin('GET', `/audit?action=key.exposed&targetId=${key.id}`)).body.items;
    assert.equal(exposed.length, 1);
    assert.equal(exposed[0].after.exposure.source, 'query-string');
    assert.equal(exposed[0].after.exposure.where, '127.0.0.3');
    assert.equal(exposed[0].after.exposure.action, 'flag');
    const events = (await h.gh.ctx.store.events.after(0, 1000)).filter((e) => (e.data as { key?: { id: string } }).key?.id === key.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['key.created', 'key.exposed', 'key.revoked', 'key.compromised'],
    );
    const compromised = events.find((e) => e.type === 'key.compromised')!.data as { replacement: { id: string }; tokensRevoked: number; reason: string };
    assert.equal(compromised.replacement.id, compromise.replacement.id);
    assert.equal(compromised.tokensRevoked, 2);
    assert.ok(!JSON.stringify(events).includes(compromise.replacement.secret) && !JSON.stringify(events).includes(key.secret), 'events hold no secret');
  });

  test('the impact report from the exposure on: every figure matches the requests sent', async () => {
    const r = await report();
    const inWindow = sent.filter((s) => s.at >= exposedAt);
    assert.equal(inWindow.length, 8, 'the mix itself');
    assert.deepEqual(r.subject, { type: 'key', id: key.id, name: 'acme production' });
    assert.equal(r.window.since, iso(exposedAt));
    assert.deepEqual(r.milestones, {
      createdAt: (await h.admin('GET', `/keys/${key.id}`)).body.createdAt,
      exposedAt: iso(exposedAt),
      detectedAt: iso(exposedAt),
      containedAt: r.timeline.find((t: { event: string }) => t.event === 'compromised').at,
    });
    assert.ok(Math.abs(Date.parse(r.milestones.containedAt) - compromisedAt) < 5000);
    assert.deepEqual(r.coverage, { requestLog: 'complete', requestLogFrom: r.coverage.requestLogFrom, truncated: false, notes: r.coverage.notes });
    const bytes = (list: typeof sent) => list.reduce((n, s) => n + s.bytes, 0);
    assert.deepEqual(r.totals, {
      requests: 8,
      forwarded: 5,
      denied: 3,
      bytesOut: bytes(inWindow),
      bytesOut2xx: bytes(inWindow.filter((s) => s.status === 200)),
      addresses: 2,
      newAddresses: 1,
      userAgents: 2,
      firstRequestAt: r.totals.firstRequestAt,
      lastRequestAt: r.totals.lastRequestAt,
    });
    within(r.totals.firstRequestAt, inWindow[0]!);
    within(r.totals.lastRequestAt, inWindow.at(-1)!);
    assert.deepEqual(r.byApi, [{ api: 'partner', requests: 8, forwarded: 5, denied: 3, bytesOut: bytes(inWindow) }]);
    const keyed = inWindow.filter((s) => !s.token);
    assert.deepEqual(r.byRoute, [
      { api: 'partner', route: '/partner/keyed/**', requests: 6, bytesOut: bytes(keyed), statuses: { 200: 3, 401: 2, 403: 1 } },
      { api: 'partner', route: '/partner', requests: 2, bytesOut: bytes(inWindow.filter((s) => s.token)), statuses: { 200: 2 } },
    ]);
    assert.deepEqual(r.byStatus, [
      { status: 200, requests: 5 },
      { status: 401, requests: 2 },
      { status: 403, requests: 1 },
    ]);
    assert.deepEqual(r.denials, [
      { code: 'REVOKED', requests: 2 },
      { code: 'FORBIDDEN', requests: 1 },
    ]);
    const from = (address: string) => inWindow.filter((s) => s.address === address);
    assert.deepEqual(
      r.addresses.map((a: Record<string, unknown>) => [a.address, a.requests, a.denied, a.newSinceExposure]),
      [
        ['127.0.0.3', 6, 2, true],
        ['127.0.0.1', 2, 1, false],
      ],
    );
    for (const a of r.addresses) {
      within(a.firstSeenAt, from(a.address)[0]!);
      within(a.lastSeenAt, from(a.address).at(-1)!);
    }
    assert.ok(Date.parse(r.addresses[1].firstSeenEverAt) < exposedAt, '127.0.0.1 was used before the exposure');
    assert.ok(Date.parse(r.addresses[0].firstSeenEverAt) >= exposedAt, '127.0.0.3 was not');
    assert.deepEqual(
      r.userAgents.map((u: { userAgent: string; requests: number }) => [u.userAgent, u.requests]),
      [
        [CURL, 6],
        [APP, 2],
      ],
    );
    assert.equal(r.tokens.exchanged.length, 2);
    assert.deepEqual(
      r.tokens.exchanged.map((t: { clientId: string; audience: string; revokedAt: string | null }) => [t.clientId, t.audience, t.revokedAt !== null]),
      [
        [exchanger.id, partner.audience],
        [exchanger.id, partner.audience],
      ].map((x) => [...x, true]),
    );
    assert.deepEqual(r.tokens.requestsByClient, [
      { clientId: exchanger.id, requests: 2, denied: 0, bytesOut: bytes(inWindow.filter((s) => s.token)), routes: ['/partner'] },
    ]);
    assert.deepEqual(
      r.timeline.map((t: { event: string }) => t.event),
      ['created', 'detected', 'compromised'],
    );
    assert.match(r.timeline[1].detail, /query-string \(127\.0\.0\.3\); action: flag/);
    assert.match(r.timeline[2].detail, /found in a public paste; 2 exchanged token\(s\) revoked; replacement key_/);
  });

  test('a wider window counts the owner’s traffic before the exposure: those addresses are not new', async () => {
    const created = Date.parse((await h.admin('GET', `/keys/${key.id}`)).body.createdAt);
    const r = await report(`?since=${encodeURIComponent(iso(created))}`);
    assert.equal(r.totals.requests, sent.length);
    assert.equal(sent.length, 13);
    assert.equal(r.totals.forwarded, 10);
    assert.equal(r.totals.addresses, 3);
    assert.equal(r.totals.newAddresses, 1);
    assert.deepEqual(
      r.addresses.map((a: { address: string; requests: number; newSinceExposure: boolean }) => [a.address, a.requests, a.newSinceExposure]),
      [
        ['127.0.0.1', 6, false],
        ['127.0.0.3', 6, true],
        ['127.0.0.2', 1, false],
      ],
    );
    assert.deepEqual(r.tokens.requestsByClient[0].requests, 3);
    // A window before the exposure only: nothing after it counted.
    const before = await report(`?since=${encodeURIComponent(iso(created))}&until=${encodeURIComponent(iso(exposedAt))}`);
    assert.equal(before.totals.requests, 5);
    assert.deepEqual(before.totals.newAddresses, 0);
  });

  test('the report as Markdown (Accept or format=markdown, and the CLI): the figures a breach notification needs', async () => {
    await h.gh.requestLog!.flush();
    const res = await fetch(`${h.gh.controlUrl}/admin/v1/keys/${key.id}/impact`, {
      headers: { authorization: `Bearer ${h.adminKey}`, accept: 'text/markdown' },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/markdown/);
    const md = await res.text();
    assert.match(md, new RegExp(`^# Incident impact report: API key \`${key.id}\` \\(acme production\\)`));
    assert.match(md, /Requests in the window: \*\*8\*\* \(5 forwarded to the API, 3 refused by the gateway\)/);
    assert.match(md, /Client addresses: 2, of which \*\*1\*\* never used this credential before its exposure/);
    assert.match(md, /\| `127\.0\.0\.3` \| 6 \| 2 \|.*\| \*\*yes\*\* \|/);
    assert.match(md, /\| `partner` \| `\/partner\/keyed\/\*\*` \| 6 \|/);
    assert.match(md, /Access tokens exchanged for it: 2; requests made with them: 2/);
    assert.ok(!md.includes(key.secret) && !md.includes(compromise.replacement.secret));
    const cli = await runCli(['keys', 'impact', key.id, '--markdown'], { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey });
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout.trimEnd(), md.replace(/^Generated .*$/m, cli.stdout.match(/^Generated .*$/m)![0]).trimEnd());
    const summary = await runCli(['keys', 'impact', key.id], { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey });
    assert.match(summary.stdout, /8 requests \(5 forwarded, 3 refused\).*2 addresses \(1 new since the exposure\)/);
  });

  test('gatehouse keys compromised: one command, the replacement secret printed once; a second time is a conflict', async () => {
    const other = (await h.admin('POST', '/keys', { appId, access: [{ apiId: partner.id }] })).body;
    const env = { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey };
    const done = await runCli(['keys', 'compromised', other.id, '--reason', 'laptop stolen'], env);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, new RegExp(`revoked key ${other.id} and 0 tokens exchanged from it; replacement key_\\w+ issued`));
    const secret = done.stdout.trim().split('\n').at(-1)!;
    assert.match(secret, /^gk_live_/);
    assert.equal((await call(h, '/partner/keyed/x', { key: secret, header: 'x-api-key' })).status, 200);
    const again = await runCli(['keys', 'compromised', other.id, '--reason', 'again'], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /CONFLICT: this key is revoked/);
    assert.equal((await runCli(['keys', 'compromised', other.id], env)).code, 2, '--reason is required');
  });

  test('impact reports for a user and an OAuth client, as far as the stored data goes', async () => {
    const user = await h.user();
    const u = await h.admin('GET', `/users/${user.id}/impact`);
    assert.equal(u.status, 200, JSON.stringify(u.body));
    assert.deepEqual(u.body.subject, { type: 'user', id: user.id, name: user.username });
    assert.equal(u.body.tokens, null);
    assert.equal(u.body.timeline[0].event, 'created');
    const c = await h.admin('GET', `/clients/${exchanger.id}/impact?since=1h`);
    assert.equal(c.status, 200);
    // Requests with tokens issued to the client: the exchanged tokens' (3), then the refused ones after their revocation.
    assert.ok(c.body.totals.requests >= 3, JSON.stringify(c.body.totals));
    assert.ok(c.body.coverage.notes.some((n: string) => /token endpoint are not recorded/.test(n)));
    expectProblem(await h.admin('GET', `/users/usr_nobody/impact`), 404, 'RESOURCE_NOT_FOUND');
    expectProblem(await h.admin('GET', `/keys/${key.id}/impact?since=1h&until=2h`), 400, 'VALIDATION_FAILED');
  });
});

/** The exposure policy, end to end: each action on each environment, and a key in a query string over HTTPS. */
describe('the exposure policy per environment', () => {
  const actor = { actor: 'test', requestId: null };
  const exposeAs = async (h: Harness, keyId: string) =>
    markExposed(h.gh.ctx, actor, (await h.gh.ctx.store.keys.get(keyId))!, { source: 'operator', where: 'a ticket' });
  const lastExposure = async (h: Harness, keyId: string) =>
    (
      (await h.gh.ctx.store.events.after(0, 1000)).filter((e) => e.type === 'key.exposed' && (e.data as { key: { id: string } }).key.id === keyId).at(-1)!
        .data as {
        exposure: { action: string; policy: string };
      }
    ).exposure;

  describe('defaults, over HTTPS: live keys disabled, test keys revoked and replaced', () => {
    let h: Harness;
    let ids: Awaited<ReturnType<typeof seed>>;
    before(async () => {
      h = await startHarness({ GATEHOUSE_TEST_GATEWAY: HTTPS_GATEWAY });
      ids = await seed(h);
    });
    after(() => h.close());

    test('a live key in a query string over HTTPS is refused, never forwarded, marked exposed (query-string) once, and disabled', async () => {
      assert.equal((await call(h, '/orders/x', { key: ids.secret })).status, 200, 'over HTTPS in a header it works');
      const before = h.upstream.requests.length;
      for (let i = 0; i < 2; i++) {
        const res = await h.fetch(`${h.gh.gatewayUrl}/orders/x?key=${ids.secret}`);
        assert.equal(res.status, 400);
        assert.equal(((await res.json()) as { code: string }).code, 'CREDENTIALS_IN_QUERY');
      }
      assert.equal(h.upstream.requests.length, before, 'never forwarded');
      await waitFor(async () => (await h.admin('GET', `/keys/${ids.keyId}`)).body.status === 'disabled', { what: 'the key disabled by the policy' });
      const audit = (await h.admin('GET', `/audit?action=key.exposed&targetId=${ids.keyId}`)).body.items;
      assert.equal(audit.length, 1, 'once');
      assert.deepEqual(
        [audit[0].after.exposure.source, audit[0].after.exposure.action, audit[0].after.exposure.policy],
        ['query-string', 'disable', 'disable'],
      );
      expectProblem(await call(h, '/orders/x', { key: ids.secret }), 401, 'DISABLED');
      // A false positive: an operator enables it again, and the next report does not overrule them.
      assert.equal((await h.admin('PATCH', `/keys/${ids.keyId}`, { enabled: true })).status, 200);
      assert.equal((await exposeAs(h, ids.keyId)).step.action, 'flag');
      assert.equal((await call(h, '/orders/x', { key: ids.secret })).status, 200);
    });

    test('a test key is revoked and replaced: the old secret refused, the replacement (returned to the reporter) works', async () => {
      const k = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], environment: 'test' })).body;
      const result = await exposeAs(h, k.id);
      assert.equal(result.step.action, 'revoke-and-replace');
      assert.equal((await lastExposure(h, k.id)).action, 'revoke-and-replace');
      expectProblem(await call(h, '/orders/x', { key: k.secret }), 401, 'REVOKED');
      const replacement = result.compromise!.replacement!;
      assert.match(replacement.secret, /^gk_test_/);
      assert.equal((await call(h, '/orders/x', { key: replacement.secret })).status, 200);
      assert.equal((await h.admin('GET', `/audit?action=key.compromised&targetId=${k.id}`)).body.items.length, 1);
    });

    test('a live key the policy disabled comes back working as its replacement when compromised', async () => {
      const k = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] })).body;
      assert.equal((await exposeAs(h, k.id)).step.action, 'disable');
      const done = (await h.admin('POST', `/keys/${k.id}/compromised`, { reason: 'confirmed leak' })).body;
      assert.equal(done.replacement.status, 'active');
      assert.equal((await call(h, '/orders/x', { key: done.replacement.secret })).status, 200);
    });
  });

  describe('configured: live revoke-and-replace, test flag', () => {
    let h: Harness;
    let ids: Awaited<ReturnType<typeof seed>>;
    before(async () => {
      h = await startHarness({ GATEHOUSE_EXPOSURE_LIVE: 'revoke-and-replace', GATEHOUSE_EXPOSURE_TEST: 'flag' });
      ids = await seed(h);
    });
    after(() => h.close());

    test('a live key is revoked and replaced, announced as exposed and compromised', async () => {
      const result = await exposeAs(h, ids.keyId);
      assert.equal(result.step.action, 'revoke-and-replace');
      expectProblem(await call(h, '/orders/x', { key: ids.secret }), 401, 'REVOKED');
      assert.equal((await call(h, '/orders/x', { key: result.compromise!.replacement!.secret })).status, 200);
      const types = (await h.gh.ctx.store.events.after(0, 1000)).filter((e) => (e.data as { key?: { id: string } }).key?.id === ids.keyId).map((e) => e.type);
      assert.deepEqual(types, ['key.created', 'key.exposed', 'key.revoked', 'key.compromised']);
    });

    test('a test key is flagged only: it keeps working, and key.exposed says so', async () => {
      const k = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], environment: 'test' })).body;
      assert.equal((await exposeAs(h, k.id)).step.action, 'flag');
      assert.deepEqual(await lastExposure(h, k.id), { ...(await lastExposure(h, k.id)), action: 'flag', policy: 'flag' });
      assert.equal((await call(h, '/orders/x', { key: k.secret })).status, 200);
      assert.ok((await h.admin('GET', `/keys/${k.id}`)).body.exposedAt);
    });
  });
});
