import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, expectProblem, fetchFrom, seed, startHarness, type Harness } from './support/harness.ts';

describe('POST /admin/v1/keys/verify answers every code as data', () => {
  let h: Harness;
  let ids: Awaited<ReturnType<typeof seed>>;
  const verify = (body: Record<string, unknown>) => h.admin('POST', '/keys/verify', body);
  const newKey = async (body: Record<string, unknown>) => (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], ...body })).body;

  before(async () => {
    h = await startHarness();
    ids = await seed(h, { scopes: ['orders:read'] });
  });
  after(() => h.close());

  test('VALID carries the key, app, expiry and limits', async () => {
    const key = await newKey({ expiresInSeconds: 3600, rateLimits: [{ name: 'burst', limit: 10, windowSeconds: 1 }], quota: { limit: 50, period: 'month' } });
    const res = await verify({ key: key.secret, api: 'orders', method: 'GET', path: '/x', ip: '192.0.2.1' });
    assert.equal(res.status, 200);
    assert.deepEqual(
      { valid: res.body.valid, code: res.body.code, keyId: res.body.keyId, appId: res.body.appId, expiresAt: res.body.expiresAt },
      { valid: true, code: 'VALID', keyId: key.id, appId: ids.appId, expiresAt: key.expiresAt },
    );
    assert.deepEqual(res.body.ratelimits, [{ name: 'burst', limit: 10, remaining: 9, reset: new Date(h.clock.now + 100).toISOString() }]);
    assert.deepEqual(res.body.quota, { limit: 50, remaining: 49, reset: '2026-12-01T00:00:00.000Z' });
  });

  test('MALFORMED for anything that is not one of our keys, without a lookup', async () => {
    for (const key of ['nope', ids.secret.slice(0, -1) + (ids.secret.endsWith('A') ? 'B' : 'A'), ids.secret.replace('gk_', 'xx_')]) {
      const res = await verify({ key });
      assert.deepEqual([res.status, res.body.valid, res.body.code, res.body.keyId], [200, false, 'MALFORMED', null]);
    }
  });

  test('NOT_FOUND for a well-formed key that was never issued', async () => {
    const other = await startHarness();
    try {
      const foreign = (await seed(other)).secret;
      const res = await verify({ key: foreign });
      assert.deepEqual([res.body.valid, res.body.code], [false, 'NOT_FOUND']);
    } finally {
      await other.close();
    }
  });

  test('DISABLED, EXPIRED and REVOKED', async () => {
    const disabled = await newKey({ enabled: false });
    assert.equal((await verify({ key: disabled.secret })).body.code, 'DISABLED');
    const expiring = await newKey({ expiresInSeconds: 1 });
    h.clock.advance(1000);
    assert.equal((await verify({ key: expiring.secret })).body.code, 'EXPIRED');
    const revoked = await newKey({});
    await h.admin('POST', `/keys/${revoked.id}/revoke`, { reason: 'test' });
    const res = await verify({ key: revoked.secret });
    assert.deepEqual([res.body.code, res.body.keyId], ['REVOKED', revoked.id]);
  });

  test('FORBIDDEN for another API, method, path or address', async () => {
    const other = await h.admin('POST', '/apis', { name: 'billing', listenPath: '/billing', upstreamUrl: h.upstream.url });
    const key = await newKey({ access: [{ apiId: ids.apiId, methods: ['GET'], paths: ['/orders/*'] }], ipAllowlist: ['10.0.0.0/8', '2001:db8::/32'] });
    const base = { key: key.secret, api: 'orders', method: 'GET', path: '/orders/7', ip: '10.1.2.3' };
    assert.equal((await verify(base)).body.code, 'VALID');
    assert.equal((await verify({ ...base, ip: '2001:db8::1' })).body.code, 'VALID');
    assert.equal((await verify({ ...base, api: other.body.id })).body.code, 'FORBIDDEN');
    assert.equal((await verify({ ...base, method: 'DELETE' })).body.code, 'FORBIDDEN');
    assert.equal((await verify({ ...base, path: '/orders/7/items' })).body.code, 'FORBIDDEN');
    assert.equal((await verify({ ...base, ip: '192.0.2.1' })).body.code, 'FORBIDDEN');
  });

  test('INSUFFICIENT_SCOPE when the API or the caller requires a scope the key lacks', async () => {
    assert.equal((await verify({ key: ids.secret, scopes: ['orders:read'] })).body.code, 'VALID');
    assert.equal((await verify({ key: ids.secret, scopes: ['orders:write'] })).body.code, 'INSUFFICIENT_SCOPE');
    const scoped = await h.admin('POST', '/apis', {
      name: 'admin-orders',
      listenPath: '/admin-orders',
      upstreamUrl: h.upstream.url,
      auth: { type: 'apiKey', scopes: ['orders:admin'] },
    });
    const key = await newKey({ access: [{ apiId: scoped.body.id }], scopes: ['orders:read'] });
    assert.equal((await verify({ key: key.secret, api: 'admin-orders' })).body.code, 'INSUFFICIENT_SCOPE');
  });

  test('RATE_LIMITED and QUOTA_EXCEEDED count the same as the gateway does', async () => {
    const limited = await newKey({ rateLimits: [{ name: 'per-minute', limit: 2, windowSeconds: 60 }] });
    assert.equal((await call(h, '/orders/1', { key: limited.secret })).status, 200);
    assert.equal((await verify({ key: limited.secret, api: 'orders' })).body.code, 'VALID');
    const res = await verify({ key: limited.secret, api: 'orders' });
    assert.equal(res.body.code, 'RATE_LIMITED');
    assert.equal(res.body.retryAfterSeconds, 30);
    assert.equal((await call(h, '/orders/1', { key: limited.secret })).status, 429);

    const quota = await newKey({ quota: { limit: 1, period: 'day' } });
    assert.equal((await verify({ key: quota.secret })).body.code, 'VALID');
    const over = await verify({ key: quota.secret });
    assert.equal(over.body.code, 'QUOTA_EXCEEDED');
    assert.equal(over.body.quota.remaining, 0);
  });

  test('the path is checked in canonical form, as the gateway does: other spellings match, ambiguous ones are refused', async () => {
    const key = await newKey({ access: [{ apiId: ids.apiId, paths: ['/public/**'] }] });
    const base = { key: key.secret, api: 'orders', method: 'GET' };
    assert.equal((await verify({ ...base, path: '/%70ublic//x' })).body.code, 'VALID');
    assert.equal((await verify({ ...base, path: '/%61dmin' })).body.code, 'FORBIDDEN');
    for (const path of [
      '/public/../admin',
      '/public/%2e%2e/admin',
      '/public/..;/admin',
      '/public/%252e%252e/admin',
      '/public/%c0%ae%c0%ae/admin',
      '/public%2fx',
    ]) {
      const res = await verify({ ...base, path });
      assert.equal(res.status, 400, path);
      assert.equal(res.body.errors[0].field, 'path', path);
    }
  });

  test('consume: false checks the key and its limits but counts nothing: no rate limit, quota or usage used', async () => {
    const key = await newKey({ rateLimits: [{ name: 'per-minute', limit: 1, windowSeconds: 60 }], quota: { limit: 2, period: 'day' } });
    for (let i = 0; i < 3; i++) {
      const dry = await verify({ key: key.secret, api: 'orders', consume: false });
      assert.equal(dry.body.code, 'VALID');
      assert.equal(dry.body.ratelimits[0].remaining, 1, 'a check leaves the rate limit untouched');
      assert.equal(dry.body.quota.remaining, 2, 'a check leaves the quota untouched');
    }
    const shown = (await h.admin('GET', `/keys/${key.id}`)).body;
    assert.equal(shown.lastUsedAt, null, 'a check is not a use of the key');
    assert.equal((await call(h, '/orders/1', { key: key.secret })).status, 200, 'the budget is still whole for real requests');

    const limited = await verify({ key: key.secret, consume: false });
    assert.equal(limited.body.code, 'RATE_LIMITED', 'a check says a request would be refused now');
    assert.equal(limited.body.valid, false);
    assert.equal(limited.body.retryAfterSeconds, 60);

    const revoked = await newKey({});
    await h.admin('POST', `/keys/${revoked.id}/revoke`, { reason: 'test' });
    assert.equal((await verify({ key: revoked.secret, consume: false })).body.code, 'REVOKED');
  });

  test('consume defaults to true: a verification counts like a gateway request', async () => {
    const key = await newKey({ rateLimits: [{ name: 'per-minute', limit: 1, windowSeconds: 60 }] });
    assert.equal((await verify({ key: key.secret, consume: true })).body.code, 'VALID');
    assert.equal((await verify({ key: key.secret })).body.code, 'RATE_LIMITED');
  });

  test('an unknown API name is a validation error, not a verdict', async () => {
    const res = await verify({ key: ids.secret, api: 'no-such-api' });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].field, 'api');
  });
});

describe('POST /admin/v1/keys/verify throttles unknown keys per caller address', () => {
  let h: Harness;
  let ids: Awaited<ReturnType<typeof seed>>;
  before(async () => {
    h = await startHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '5', GATEHOUSE_AUTH_FAILURES_WINDOW_SECONDS: '60' });
    ids = await seed(h);
  });
  after(() => h.close());

  test('after five unknown or malformed keys the caller’s address gets 429 AUTH_RATE_LIMITED, even for a valid key', async () => {
    const from = fetchFrom('127.0.0.2');
    const verify = async (key: string) => {
      const res = await from(`${h.gh.controlUrl}/admin/v1/keys/verify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ key }),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as any };
    };
    const other = await startHarness();
    const foreign = await (async () => {
      try {
        return (await seed(other)).secret;
      } finally {
        await other.close();
      }
    })();
    const codes: string[] = [];
    for (const key of ['nope', 'gk_live_guess', ids.secret.slice(0, -1) + (ids.secret.endsWith('A') ? 'B' : 'A'), foreign, foreign])
      codes.push((await verify(key)).body.code);
    assert.deepEqual(codes, ['MALFORMED', 'MALFORMED', 'MALFORMED', 'NOT_FOUND', 'NOT_FOUND']);
    const blocked = await verify(ids.secret);
    expectProblem(blocked, 429, 'AUTH_RATE_LIMITED');
    assert.equal(blocked.headers.get('retry-after'), '12');
    assert.equal((await h.admin('POST', '/keys/verify', { key: ids.secret })).body.code, 'VALID', 'another address is not held back');
  });
});
