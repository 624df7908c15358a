import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, seed, startHarness, type Harness, startSeeded, type Seeded } from './support/harness.ts';

describe('policies: reusable access, limits and quota', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded({ GATEHOUSE_AUTH_FAILURES_LIMIT: '1000' })));
  after(() => h.close());

  test('a key without settings of its own follows its policy, and a policy change applies at once', async () => {
    const policy = (
      await h.admin('POST', '/policies', {
        name: 'free-tier',
        access: [{ apiId: ids.apiId, methods: ['GET'] }],
        rateLimits: [{ name: 'per-minute', limit: 2, windowSeconds: 60 }],
      })
    ).body;
    const key = (await h.admin('POST', '/keys', { appId: ids.appId, policyId: policy.id })).body;
    assert.equal((await call(h, '/orders/a', { key: key.secret })).status, 200);
    assert.equal((await call(h, '/orders/a', { key: key.secret, method: 'POST', body: '{}' })).body.code, 'FORBIDDEN');
    assert.equal((await call(h, '/orders/a', { key: key.secret })).status, 200);
    assert.equal((await call(h, '/orders/a', { key: key.secret })).body.code, 'RATE_LIMITED');

    const changed = await h.admin('PATCH', `/policies/${policy.id}`, {
      access: [{ apiId: ids.apiId }],
      rateLimits: [{ name: 'per-minute-pro', limit: 100, windowSeconds: 60 }],
    });
    assert.equal(changed.status, 200);
    const res = await call(h, '/orders/a', { key: key.secret, method: 'POST', body: '{}' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('ratelimit-policy'), '"per-minute-pro";q=100;w=60');
  });

  test('settings on the key win over the policy, field by field', async () => {
    const policy = (
      await h.admin('POST', '/policies', {
        name: 'standard',
        access: [{ apiId: ids.apiId }],
        rateLimits: [{ name: 'per-minute', limit: 50, windowSeconds: 60 }],
        quota: { limit: 1000, period: 'month' },
      })
    ).body;
    const key = (await h.admin('POST', '/keys', { appId: ids.appId, policyId: policy.id, quota: { limit: 1, period: 'day' } })).body;
    const ok = await call(h, '/orders/a', { key: key.secret });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('ratelimit-policy'), '"per-minute";q=50;w=60, "quota-day";q=1;w=86400');
    assert.equal((await call(h, '/orders/a', { key: key.secret })).body.code, 'QUOTA_EXCEEDED');
    const shown = (await h.admin('GET', `/keys/${key.id}`)).body;
    assert.deepEqual([shown.quota.limit, shown.quota.inherited, shown.quota.remaining], [1, false, 0]);
  });

  test('a policy in use cannot be deleted; an unused one can', async () => {
    const used = (await h.admin('POST', '/policies', { name: 'in-use', access: [{ apiId: ids.apiId }] })).body;
    await h.admin('POST', '/keys', { appId: ids.appId, policyId: used.id });
    assert.equal((await h.admin('DELETE', `/policies/${used.id}`)).status, 409);
    const unused = (await h.admin('POST', '/policies', { name: 'unused' })).body;
    assert.equal((await h.admin('DELETE', `/policies/${unused.id}`)).status, 204);
    assert.equal((await h.admin('GET', `/policies/${unused.id}`)).status, 404);
  });

  test('an access rule naming an unknown API is refused', async () => {
    const res = await h.admin('POST', '/policies', { name: 'broken', access: [{ apiId: 'api_00000000000000000000000000ff' }] });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].field, 'access.0.apiId');
  });
});

describe('APIs: changes reach the gateway at once', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('moving, then deleting an API changes what the gateway routes', async () => {
    const ids = await seed(h);
    assert.equal((await call(h, '/orders/a', { key: ids.secret })).status, 200);
    await h.admin('PATCH', `/apis/${ids.apiId}`, { listenPath: '/v2/orders' });
    assert.equal((await call(h, '/orders/a', { key: ids.secret })).body.code, 'ROUTE_NOT_FOUND');
    const moved = await call(h, '/v2/orders/a', { key: ids.secret });
    assert.equal(moved.status, 200);
    assert.equal(moved.body.path, '/a');
    await h.admin('DELETE', `/keys/${ids.keyId}`);
    assert.equal((await h.admin('DELETE', `/apis/${ids.apiId}`)).status, 204);
    assert.equal((await call(h, '/v2/orders/a', { key: ids.secret })).body.code, 'ROUTE_NOT_FOUND');
  });
});
