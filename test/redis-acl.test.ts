import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { LEAST_ACL_RULES } from '../src/redis/connection.ts';
import { call, seed, startHarness, type Harness, type Seeded } from './support/harness.ts';
import { startRedis, type PrivateRedis } from './support/redis.ts';
import { waitFor } from './support/wait.ts';

/**
 * A node whose Redis user has only the ACL docs/deployment.md gives (LEAST_ACL_RULES): limits, the
 * failure throttle, the DPoP replay set's command and the doorbell all work, and nothing else is allowed.
 */
describe('Redis with the least ACL Gatehouse needs', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  let h: Harness;
  let ids: Seeded;
  const password = randomBytes(18).toString('base64url');

  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.urlWithPassword);
    await admin.call('ACL', 'SETUSER', 'gatehouse', 'on', `>${password}`, ...LEAST_ACL_RULES);
    h = await startHarness({
      GATEHOUSE_REDIS_URL: redis.url,
      GATEHOUSE_REDIS_USERNAME: 'gatehouse',
      GATEHOUSE_REDIS_PASSWORD: password,
      GATEHOUSE_AUTH_FAILURES_LIMIT: '3',
    });
    ids = await seed(h, { rateLimits: [{ name: 'per-minute', limit: 2, windowSeconds: 60 }] });
  });
  after(async () => {
    await h?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  test('limits and the failure throttle are counted in Redis as that user, and every Redis component is healthy', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(h, '/orders/x', { key: ids.secret })).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    for (let i = 0; i < 3; i++) assert.equal((await call(h, '/orders/x', { key: 'gk_live_' + 'B'.repeat(40) })).status, 401);
    assert.equal((await call(h, '/orders/x', { key: ids.secret })).body.code, 'AUTH_RATE_LIMITED');
    const keys = await admin.keys('*');
    assert.ok(keys.length >= 2 && keys.every((k) => k.startsWith('gatehouse:{')), `only gatehouse:{subject}: keys: ${keys.join(', ')}`);
    assert.ok(keys.some((k) => k.startsWith('gatehouse:{thr:gateway:')));
    const report = (await (await fetch(`${h.gh.controlUrl}/readyz`)).json()) as { components: Record<string, { ok: boolean }> };
    for (const component of ['redis', 'redis-limiter', 'redis-throttle', 'change-doorbell'])
      assert.notEqual(report.components[component]?.ok, false, `${component}: ${JSON.stringify(report.components[component])}`);
  });

  test('the doorbell rings: the node hears its own PUBLISH on its subscription', async () => {
    const listener = new Redis(redis.url, { username: 'gatehouse', password });
    try {
      const heard: string[] = [];
      listener.on('message', (channel: string) => heard.push(channel));
      await listener.subscribe('gatehouse:changes');
      assert.equal((await h.admin('POST', '/apis', { name: 'rings', listenPath: '/rings', upstreamUrl: h.upstream.url })).status, 201);
      await waitFor(() => heard.length > 0, { what: 'a ring on gatehouse:changes' });
      const report = (await (await fetch(`${h.gh.controlUrl}/readyz`)).json()) as { components: Record<string, { ok: boolean }> };
      assert.equal(report.components['change-doorbell']?.ok, true);
    } finally {
      listener.disconnect();
    }
  });

  test('that user can do nothing else: other keys, other channels, other commands are refused', async () => {
    const user = new Redis(redis.url, { username: 'gatehouse', password });
    try {
      assert.equal(await user.set('gatehouse:{x}:y', '1', 'PX', 1000, 'NX'), 'OK');
      assert.equal(await user.get('gatehouse:{x}:y'), '1');
      await assert.rejects(user.get('other:key'), /NOPERM/);
      await assert.rejects(user.publish('other', '1'), /NOPERM/);
      await assert.rejects(user.keys('*'), /NOPERM/);
      await assert.rejects(user.flushall(), /NOPERM/);
      await assert.rejects(user.call('CONFIG', 'GET', '*'), /NOPERM/);
      await assert.rejects(user.eval("return redis.call('GET', KEYS[1])", 1, 'other:key'), /NOPERM|No permissions/);
    } finally {
      user.disconnect();
    }
  });
});
