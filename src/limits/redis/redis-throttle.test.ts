import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { usePrivateRedis } from '../../../test/support/redis-clients.ts';
import { Health } from '../../telemetry/health.ts';
import { throttleContract } from '../throttle-contract.ts';
import { redisThrottles, REDIS_THROTTLE } from './fallback-throttle.ts';
import { RedisThrottle } from './redis-throttle.ts';

const privateRedis = usePrivateRedis();

let prefixes = 0;
throttleContract('redis', () => {
  const prefix = `test${++prefixes}:`;
  return (rule) => new RedisThrottle(privateRedis.shared, rule, prefix);
});

describe('Redis failure throttle across nodes', () => {
  const NOW = Date.UTC(2026, 10, 29, 12);

  test('failures recorded on several nodes add up: the limit holds across them, not per node', async () => {
    const prefix = `nodes${++prefixes}:`;
    const nodes = (await Promise.all([1, 2, 3].map(() => privateRedis.client()))).map(
      (redis) => new RedisThrottle(redis, { name: 'gateway', limit: 6, windowMs: 60_000, perAddress: true }, prefix),
    );
    await Promise.all(Array.from({ length: 6 }, (_, i) => nodes[i % 3]!.recordFailure('198.51.100.7', NOW)));
    for (const node of nodes) assert.equal(await node.blockedFor('198.51.100.7', NOW), 10_000);
  });

  test('a slot is one short key that expires when the slot is whole again, and names no address', async () => {
    const redis = await privateRedis.client();
    const prefix = `expiry${++prefixes}:`;
    const t = new RedisThrottle(redis, { name: 'gateway', limit: 2, windowMs: 1000, perAddress: true }, prefix);
    await t.recordFailure('198.51.100.7', Date.now());
    const keys = await redis.keys(`${prefix}*`);
    assert.equal(keys.length, 1);
    assert.match(keys[0]!, /^expiry\d+:\{thr:gateway:[\w-]{22}\}:tat$/);
    const ttl = await redis.pttl(keys[0]!);
    assert.ok(ttl > 1000 && ttl <= 1500, `lives a second past its TAT (500 ms ahead), not ${ttl}`);
  });

  test('with Redis away each node counts its share of the limit, readiness warns, and Redis counts again once back', async () => {
    const health = new Health(pino({ level: 'silent' }), Date.now);
    const throttles = redisThrottles(await privateRedis.client(), { nodes: 2, health, prefix: `outage${++prefixes}:` });
    const t = throttles({ name: 'gateway', limit: 4, windowMs: 60_000 });
    await privateRedis.server.pause();
    try {
      await t.recordFailure('a', NOW);
      assert.equal(await t.blockedFor('a', NOW), 0);
      await t.recordFailure('a', NOW);
      assert.equal(await t.blockedFor('a', NOW), 30_000, '4 per minute shared by 2 nodes: 2 here');
      const component = health.report().components[REDIS_THROTTLE]!;
      assert.equal(component.ok, false);
      assert.equal(component.critical, false, 'a throttle counted locally does not make the node unready');
    } finally {
      await privateRedis.server.resume();
    }
    let wait = -1;
    for (let i = 0; i < 100 && health.report().components[REDIS_THROTTLE]!.ok === false; i++) {
      wait = await t.blockedFor('b', NOW);
      if (health.report().components[REDIS_THROTTLE]!.ok === false) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(health.report().components[REDIS_THROTTLE]!.ok, true, 'calls reach Redis again');
    assert.equal(wait, 0);
    await t.recordFailure('b', NOW);
    assert.equal(await t.blockedFor('b', NOW), 0, 'Redis counts with the whole limit again');
  });
});
