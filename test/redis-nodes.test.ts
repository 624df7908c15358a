import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startPostgres, type PrivatePostgres } from './support/postgres.ts';
import { startRedis, type PrivateRedis } from './support/redis.ts';
import { call, seed, startHarness, TestClock, type Harness, type Seeded } from './support/harness.ts';
import { waitFor } from './support/wait.ts';

/**
 * Two nodes on PostgreSQL and Redis: a rate limit and the failure throttle are counted once for both; a change on one node
 * reaches the other through the Redis doorbell long before its next poll of the store; with Redis
 * gone, limits fall back to each node (each limit divided by the expected node count).
 */
describe('two nodes on PostgreSQL and Redis', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let a: Harness;
  let b: Harness;
  let ids: Seeded;
  /** A key of an API that fails closed while Redis is away, with the deployment's default (local) for the rest. */
  let closedSecret: string;
  const clock = new TestClock();

  before(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    await pg.createDatabase('nodes');
    const env = {
      GATEHOUSE_STORE_DRIVER: 'postgres',
      GATEHOUSE_STORE_URL: pg.urlWithoutPassword('nodes'),
      GATEHOUSE_STORE_PASSWORD: pg.password,
      GATEHOUSE_REDIS_URL: redis.url,
      GATEHOUSE_REDIS_PASSWORD: redis.password,
      GATEHOUSE_REDIS_EXPECTED_NODES: '2',
      GATEHOUSE_AUTH_FAILURES_LIMIT: '4',
      // Polling alone would take a minute: within the tests' waits, only the doorbell can deliver.
      GATEHOUSE_CHANGES_POLL_INTERVAL_SECONDS: '60',
    };
    a = await startHarness(env, clock);
    b = await startHarness(env, clock);
    ids = await seed(a, { rateLimits: [{ name: 'per-minute', limit: 6, windowSeconds: 60 }] });
    const payments = await a.admin('POST', '/apis', {
      name: 'payments',
      listenPath: '/payments',
      upstreamUrl: a.upstream.url,
      whenRedisUnavailable: 'fail-closed',
    });
    assert.equal(payments.status, 201, JSON.stringify(payments.body));
    assert.equal(payments.body.whenRedisUnavailable, 'fail-closed');
    const closedKey = await a.admin('POST', '/keys', {
      appId: ids.appId,
      access: [{ apiId: payments.body.id }],
      rateLimits: [{ name: 'per-minute', limit: 6, windowSeconds: 60 }],
    });
    closedSecret = closedKey.body.secret;
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([pg?.stop(), redis?.stop()]);
  });

  test('a change on one node reaches the other through the doorbell, not the next poll', async () => {
    await waitFor(async () => (await call(b, '/orders/1', { key: ids.secret })).status !== 404, { what: "the new API on B's gateway" });
    const extra = await a.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    assert.equal((await call(b, '/orders/1', { key: extra.body.secret })).status, 200);
    assert.equal((await a.admin('POST', `/keys/${extra.body.id}/revoke`, { reason: 'test' })).status, 200);
    await waitFor(async () => (await call(b, '/orders/1', { key: extra.body.secret })).status === 401, { what: 'the revocation on B', timeoutMs: 3000 });
  });

  test('a rate limit of N is N across both nodes', async () => {
    clock.advance(120_000); // a full window since the first test's requests
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await call(i % 2 ? a : b, '/orders/x', { key: ids.secret })).status);
    assert.equal(statuses.filter((s) => s === 200).length, 6);
    assert.equal(statuses.filter((s) => s === 429).length, 4);
  });

  test('failed key checks are counted once for both nodes: a guesser gains nothing by alternating', async () => {
    clock.advance(120_000);
    const guess = 'gk_live_' + 'A'.repeat(40);
    for (let i = 0; i < 4; i++) assert.equal((await call(i % 2 ? a : b, '/orders/x', { key: guess })).status, 401);
    for (const node of [a, b]) {
      const refused = await call(node, '/orders/x', { key: ids.secret });
      assert.equal(refused.status, 429, 'the address is throttled at both nodes, even with a good key');
      assert.equal(refused.body.code, 'AUTH_RATE_LIMITED');
    }
    clock.advance(120_000);
    assert.equal((await call(a, '/orders/x', { key: ids.secret })).status, 200);
  });

  test('with Redis gone, each node limits on its own with its share of the limit (an API set to fail closed refuses), and readiness says so', async () => {
    clock.advance(120_000);
    assert.equal((await call(a, '/payments/x', { key: closedSecret })).status, 200);
    await redis.pause();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await call(a, '/orders/x', { key: ids.secret })).status);
    // 6 per minute shared by 2 expected nodes: 3 on this node.
    assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429, 429, 429]);
    // The payments API fails closed: its limited requests wait for Redis, at every node.
    for (const node of [a, b]) {
      const refused = await call(node, '/payments/x', { key: closedSecret });
      assert.equal(refused.status, 429);
      assert.equal(refused.body.code, 'RATE_LIMITED');
      assert.equal(refused.headers.get('retry-after'), '1');
    }
    const ready = (await (await fetch(`${a.gh.controlUrl}/readyz`)).json()) as { ready: boolean; components: Record<string, { ok: boolean }> };
    assert.equal(ready.components['redis-limiter']?.ok, false);
    assert.equal(ready.ready, true, 'the deployment default is local: one API failing closed does not make the node unready');
    await redis.resume();
    await waitFor(async () => (await call(a, '/payments/x', { key: closedSecret })).status === 200, {
      what: 'the payments API served once Redis is back',
      timeoutMs: 10_000,
    });
    // Service recovers by itself: limits are counted in Redis again, and the doorbell rings again
    // (the poll is a minute away, so only a resubscribed doorbell brings B the change in time).
    await waitFor(
      async () => {
        await call(a, '/orders/x', { key: ids.secret });
        const now = (await (await fetch(`${a.gh.controlUrl}/readyz`)).json()) as { components: Record<string, { ok: boolean }> };
        return now.components['redis-limiter']?.ok === true;
      },
      { what: "A's limiter back on Redis", timeoutMs: 10_000 },
    );
    const late = await a.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    assert.equal((await call(b, '/orders/1', { key: late.body.secret })).status, 200);
    assert.equal((await a.admin('POST', `/keys/${late.body.id}/revoke`, { reason: 'test' })).status, 200);
    await waitFor(async () => (await call(b, '/orders/1', { key: late.body.secret })).status === 401, {
      what: 'the doorbell after Redis returned',
      timeoutMs: 10_000,
    });
  });
  test('a change made while Redis is away reaches the other node as soon as Redis returns, not at its next poll', async () => {
    const key = await a.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    assert.equal((await call(b, '/orders/1', { key: key.body.secret })).status, 200);
    await redis.pause();
    // The store takes the revocation; the ring is lost with Redis away, and B's poll is a minute off.
    assert.equal((await a.admin('POST', `/keys/${key.body.id}/revoke`, { reason: 'test' })).status, 200);
    await redis.resume();
    await waitFor(async () => (await call(b, '/orders/1', { key: key.body.secret })).status === 401, {
      what: 'the revocation made while Redis was away, on B',
      timeoutMs: 10_000,
    });
  });
});
