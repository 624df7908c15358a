import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, seed, startHarness, startSeeded, type Harness, type Seeded } from './support/harness.ts';

describe('key lifecycle over the admin API', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  test('a created key returns its secret once and only a display prefix afterwards', async () => {
    const created = await h.admin('POST', '/keys', { appId: ids.appId, name: 'ci', environment: 'test', access: [{ apiId: ids.apiId }] });
    assert.equal(created.status, 201);
    assert.match(created.body.secret, /^gk_test_[0-9A-Za-z]{30}$/);
    assert.equal(created.body.start, created.body.secret.slice(0, 12));
    const shown = await h.admin('GET', `/keys/${created.body.id}`);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.secret, undefined);
    assert.equal(JSON.stringify(shown.body).includes(created.body.secret), false);
    const listed = await h.admin('GET', `/keys?appId=${ids.appId}`);
    assert.equal(JSON.stringify(listed.body).includes(created.body.secret), false);
    const audit = await h.admin('GET', `/audit?targetId=${created.body.id}`);
    assert.equal(audit.body.items[0].action, 'key.created');
    assert.equal(JSON.stringify(audit.body).includes(created.body.secret), false);
    assert.equal(JSON.stringify(audit.body).includes('"hash"'), false);
  });

  test('list filters by app, environment and status and pages with a cursor', async () => {
    const app = await h.admin('POST', '/apps', { name: 'pager' });
    const made = [];
    for (let i = 0; i < 5; i++)
      made.push(
        (await h.admin('POST', '/keys', { appId: app.body.id, access: [{ apiId: ids.apiId }], name: `k${i}`, environment: i % 2 ? 'test' : 'live' })).body.id,
      );
    const first = await h.admin('GET', `/keys?appId=${app.body.id}&limit=2`);
    assert.deepEqual(
      first.body.items.map((k: { id: string }) => k.id),
      made.slice(0, 2),
    );
    const second = await h.admin('GET', `/keys?appId=${app.body.id}&limit=2&cursor=${first.body.nextCursor}`);
    assert.deepEqual(
      second.body.items.map((k: { id: string }) => k.id),
      made.slice(2, 4),
    );
    const last = await h.admin('GET', `/keys?appId=${app.body.id}&limit=2&cursor=${second.body.nextCursor}`);
    assert.deepEqual(
      last.body.items.map((k: { id: string }) => k.id),
      made.slice(4),
    );
    assert.equal(last.body.nextCursor, null);
    const tests = await h.admin('GET', `/keys?appId=${app.body.id}&environment=test`);
    assert.equal(tests.body.items.length, 2);
    await h.admin('PATCH', `/keys/${made[0]}`, { enabled: false });
    const disabled = await h.admin('GET', `/keys?appId=${app.body.id}&status=disabled`);
    assert.deepEqual(
      disabled.body.items.map((k: { id: string }) => k.id),
      [made[0]],
    );
  });

  test('a key shows where it was last used from, before and after its usage is flushed', async () => {
    const { body: key } = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    assert.equal((await h.admin('GET', `/keys/${key.id}`)).body.lastUsedFrom, null);
    assert.equal((await call(h, '/orders/a', { key: key.secret })).status, 200);
    assert.equal((await h.admin('GET', `/keys/${key.id}`)).body.lastUsedFrom, '127.0.0.1');
    await h.gh.ctx.usage.flush();
    assert.equal((await h.admin('GET', `/keys/${key.id}`)).body.lastUsedFrom, '127.0.0.1');
    // A check from the verify endpoint that counts names no address: the last one known stays.
    assert.equal((await h.admin('POST', '/keys/verify', { key: key.secret })).body.code, 'VALID');
    await h.gh.ctx.usage.flush();
    assert.equal((await h.admin('GET', `/keys/${key.id}`)).body.lastUsedFrom, '127.0.0.1');
  });

  test('update changes settings, and disable/enable switch the key off and on at the gateway', async () => {
    const { body: key } = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    assert.equal((await call(h, '/orders/a', { key: key.secret })).status, 200);
    const disabled = await h.admin('PATCH', `/keys/${key.id}`, { enabled: false, name: 'paused', metadata: { team: 'x' } });
    assert.equal(disabled.body.status, 'disabled');
    assert.equal(disabled.body.name, 'paused');
    assert.deepEqual(disabled.body.metadata, { team: 'x' });
    assert.equal((await call(h, '/orders/a', { key: key.secret })).body.code, 'DISABLED');
    await h.admin('PATCH', `/keys/${key.id}`, { enabled: true });
    assert.equal((await call(h, '/orders/a', { key: key.secret })).status, 200);
    const actions = (await h.admin('GET', `/audit?targetId=${key.id}`)).body.items.map((e: { action: string }) => e.action);
    assert.deepEqual(actions, ['key.enabled', 'key.disabled', 'key.created']);
  });

  test('revoke takes effect at once, records the reason and cannot be repeated', async () => {
    const { body: key } = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    assert.equal((await call(h, '/orders/a', { key: key.secret })).status, 200);
    const revoked = await h.admin('POST', `/keys/${key.id}/revoke`, { reason: 'leaked in a gist' });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.status, 'revoked');
    assert.equal(revoked.body.revokedReason, 'leaked in a gist');
    const denied = await call(h, '/orders/a', { key: key.secret });
    assert.equal(denied.status, 401);
    assert.equal(denied.body.code, 'REVOKED');
    assert.equal((await h.admin('POST', `/keys/${key.id}/revoke`, { reason: 'again' })).status, 409);
    assert.equal((await h.admin('PATCH', `/keys/${key.id}`, { enabled: true })).status, 409);
  });

  test('delete removes the key; it is then unknown at the gateway and the admin API', async () => {
    const { body: key } = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    assert.equal((await call(h, '/orders/a', { key: key.secret })).status, 200);
    assert.equal((await h.admin('DELETE', `/keys/${key.id}`)).status, 204);
    assert.equal((await call(h, '/orders/a', { key: key.secret })).body.code, 'NOT_FOUND');
    assert.equal((await h.admin('GET', `/keys/${key.id}`)).status, 404);
    const audit = await h.admin('GET', `/audit?targetId=${key.id}&action=key.deleted`);
    assert.equal(audit.body.items.length, 1);
    assert.equal(audit.body.items[0].after, null);
  });

  test('a key expires on its own at expiresAt', async () => {
    const { body: key } = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], expiresInSeconds: 60 });
    assert.equal(key.expiresAt, new Date(h.clock.now + 60_000).toISOString());
    assert.equal((await call(h, '/orders/a', { key: key.secret })).status, 200);
    h.clock.advance(59_999);
    assert.equal((await call(h, '/orders/a', { key: key.secret })).status, 200);
    h.clock.advance(1);
    const expired = await call(h, '/orders/a', { key: key.secret });
    assert.equal(expired.status, 401);
    assert.equal(expired.body.code, 'EXPIRED');
    assert.equal((await h.admin('GET', `/keys/${key.id}`)).body.status, 'expired');
  });

  test('a key may not be created to expire in the past', async () => {
    const res = await h.admin('POST', '/keys', { appId: ids.appId, expiresAt: '2000-01-01T00:00:00Z' });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].field, 'expiresAt');
  });
});

describe('rotation with a grace period', () => {
  let h: Harness;
  let ids: Seeded;
  before(
    async () =>
      ({ h, ids } = await startSeeded(
        {},
        { rateLimits: [{ name: 'burst', limit: 1000, windowSeconds: 1 }], scopes: ['orders:read'], metadata: { tier: 'gold' } },
      )),
  );
  after(() => h.close());

  test('the successor inherits every setting and the old key works until the grace period ends, not a moment longer', async () => {
    const rotated = await h.admin('POST', `/keys/${ids.keyId}/rotate`, { gracePeriodSeconds: 300 });
    assert.equal(rotated.status, 201);
    const successor = rotated.body;
    assert.notEqual(successor.id, ids.keyId);
    assert.notEqual(successor.secret, ids.secret);
    assert.equal(successor.rotatedFrom, ids.keyId);
    assert.deepEqual(successor.rateLimits, [{ name: 'burst', limit: 1000, windowSeconds: 1 }]);
    assert.deepEqual(successor.scopes, ['orders:read']);
    assert.deepEqual(successor.metadata, { tier: 'gold' });
    assert.deepEqual(successor.access, [{ apiId: ids.apiId }]);
    assert.equal(successor.previous.replacedBy, successor.id);
    assert.equal(successor.previous.expiresAt, new Date(h.clock.now + 300_000).toISOString());

    h.clock.advance(299_999);
    assert.equal((await call(h, '/orders/x', { key: ids.secret })).status, 200);
    assert.equal((await call(h, '/orders/x', { key: successor.secret })).status, 200);
    h.clock.advance(1);
    assert.equal((await call(h, '/orders/x', { key: ids.secret })).body.code, 'EXPIRED');
    assert.equal((await call(h, '/orders/x', { key: successor.secret })).status, 200);
    assert.equal((await h.admin('POST', `/keys/${ids.keyId}/rotate`, {})).status, 409);
  });

  test('the grace period never extends the old key beyond its own expiry', async () => {
    const { body: key } = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], expiresInSeconds: 100 });
    const rotated = await h.admin('POST', `/keys/${key.id}/rotate`, { gracePeriodSeconds: 3600 });
    assert.equal(rotated.body.previous.expiresAt, key.expiresAt);
    assert.equal(rotated.body.expiresAt, key.expiresAt);
    h.clock.advance(100_000);
    assert.equal((await call(h, '/orders/x', { key: key.secret })).body.code, 'EXPIRED');
  });

  test('a grace period of zero ends the old key at once', async () => {
    const { body: key } = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    assert.equal((await call(h, '/orders/x', { key: key.secret })).status, 200);
    const rotated = await h.admin('POST', `/keys/${key.id}/rotate`, { gracePeriodSeconds: 0 });
    assert.equal((await call(h, '/orders/x', { key: key.secret })).body.code, 'EXPIRED');
    assert.equal((await call(h, '/orders/x', { key: rotated.body.secret })).status, 200);
    const audit = await h.admin('GET', `/audit?targetId=${key.id}&action=key.rotated`);
    assert.equal(audit.body.items[0].after.successor.id, rotated.body.id);
    assert.equal(JSON.stringify(audit.body).includes(rotated.body.secret), false);
  });
});

describe("rotation keeps the lineage's budget", () => {
  let h: Harness;
  let ids: Seeded;
  before(
    async () => ({ h, ids } = await startSeeded({}, { quota: { limit: 3, period: 'day' }, rateLimits: [{ name: 'burst', limit: 5, windowSeconds: 60 }] })),
  );
  after(() => h.close());

  test('a key at 3 of 3 for the day, rotated: its successor is still at 3 of 3, and the quota shows it', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await call(h, '/orders/a', { key: ids.secret })).status, 200);
    assert.equal((await call(h, '/orders/a', { key: ids.secret })).body.code, 'QUOTA_EXCEEDED');
    const rotated = await h.admin('POST', `/keys/${ids.keyId}/rotate`, { gracePeriodSeconds: 60 });
    assert.equal((await call(h, '/orders/a', { key: rotated.body.secret })).body.code, 'QUOTA_EXCEEDED');
    assert.equal((await h.admin('GET', `/keys/${rotated.body.id}`)).body.quota.remaining, 0);
    await h.gh.ctx.usage.flush();
    assert.equal((await h.admin('GET', `/keys/${rotated.body.id}`)).body.quota.used, 3);
  });

  test('the old key and its successor share one rate limit during the grace period', async () => {
    const { body: key } = await h.admin('POST', '/keys', {
      appId: ids.appId,
      access: [{ apiId: ids.apiId }],
      rateLimits: [{ name: 'burst', limit: 4, windowSeconds: 60 }],
    });
    assert.equal((await call(h, '/orders/a', { key: key.secret })).status, 200);
    assert.equal((await call(h, '/orders/a', { key: key.secret })).status, 200);
    const rotated = await h.admin('POST', `/keys/${key.id}/rotate`, { gracePeriodSeconds: 60 });
    assert.equal((await call(h, '/orders/a', { key: rotated.body.secret })).status, 200);
    assert.equal((await call(h, '/orders/a', { key: key.secret })).status, 200);
    assert.equal((await call(h, '/orders/a', { key: rotated.body.secret })).body.code, 'RATE_LIMITED');
  });
});

describe('key status transitions (domain/key-lifecycle.ts)', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  test('a rotated-out key cannot be revived by clearing or moving its expiry', async () => {
    const { body: key } = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    await h.admin('POST', `/keys/${key.id}/rotate`, { gracePeriodSeconds: 1 });
    h.clock.advance(1000);
    for (const patch of [{ expiresAt: null }, { expiresInSeconds: 3600 }, { enabled: true }, { name: 'back' }]) {
      const res = await h.admin('PATCH', `/keys/${key.id}`, patch);
      assert.equal(res.status, 409, JSON.stringify(patch));
      assert.equal(res.body.code, 'CONFLICT');
    }
    assert.equal((await call(h, '/orders/x', { key: key.secret })).body.code, 'EXPIRED');
  });

  test('a key inside its grace period may be renamed or revoked, but its grace period cannot be moved', async () => {
    const { body: key } = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    await h.admin('POST', `/keys/${key.id}/rotate`, { gracePeriodSeconds: 60 });
    assert.equal((await h.admin('PATCH', `/keys/${key.id}`, { expiresAt: null })).status, 409);
    assert.equal((await h.admin('PATCH', `/keys/${key.id}`, { name: 'old one' })).status, 200);
    assert.equal((await h.admin('POST', `/keys/${key.id}/revoke`, { reason: 'end the grace now' })).status, 200);
    assert.equal((await call(h, '/orders/x', { key: key.secret })).body.code, 'REVOKED');
  });

  test('revoked and expired keys are final: no edit, enable, expiry change or rotation; only delete', async () => {
    const { body: revoked } = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    await h.admin('POST', `/keys/${revoked.id}/revoke`, { reason: 'test' });
    const { body: expired } = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], expiresInSeconds: 10 });
    h.clock.advance(10_000);
    for (const id of [revoked.id, expired.id]) {
      assert.equal((await h.admin('PATCH', `/keys/${id}`, { expiresAt: null })).status, 409);
      assert.equal((await h.admin('PATCH', `/keys/${id}`, { enabled: true })).status, 409);
      assert.equal((await h.admin('POST', `/keys/${id}/rotate`, {})).status, 409);
      assert.equal((await h.admin('DELETE', `/keys/${id}`)).status, 204);
    }
  });
});

describe('verified-key cache', () => {
  test('a change made outside this node (straight to the store) is seen once the cache entry ages out', async () => {
    const h = await startHarness({ GATEHOUSE_CACHE_KEY_TTL_SECONDS: '30' });
    try {
      const ids = await seed(h);
      assert.equal((await call(h, '/orders/a', { key: ids.secret })).status, 200);
      const stored = (await h.gh.ctx.store.keys.get(ids.keyId))!;
      const audit = {
        actor: 'other-node',
        requestId: null,
        action: 'key.disabled',
        targetType: 'key' as const,
        targetId: ids.keyId,
        before: null,
        after: null,
      };
      await h.gh.ctx.store.keys.update({ ...stored, enabled: false }, audit);
      // The entry lives 80-100 % of the TTL (jittered only downwards) and is refreshed from 80 % of
      // that: until 64 % of the TTL it answers as cached, and by the TTL the change is seen.
      h.clock.advance(19_199);
      assert.equal((await call(h, '/orders/a', { key: ids.secret })).status, 200);
      h.clock.advance(10_801);
      assert.equal((await call(h, '/orders/a', { key: ids.secret })).body.code, 'DISABLED');
    } finally {
      await h.close();
    }
  });
});
