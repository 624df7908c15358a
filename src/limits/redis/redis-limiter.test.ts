import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis, type PrivateRedis } from '../../../test/support/redis.ts';
import { limiterContract, quota, rate, SUBJECT } from '../contract.ts';
import { RedisLimiter } from './redis-limiter.ts';

let server: PrivateRedis;
const clients: Redis[] = [];
before(async () => {
  server = await startRedis();
});
after(async () => {
  for (const client of clients) client.disconnect();
  await server.stop();
});

let prefixes = 0;
/** A client of the private Redis; each limiter gets its own key prefix, so tests do not share cells. */
function client(): Redis {
  const redis = new Redis(server.urlWithPassword);
  clients.push(redis);
  return redis;
}

limiterContract('redis', () => new RedisLimiter(client(), `test${++prefixes}:`), { sweeps: false });

describe('Redis limiter across nodes', () => {
  test('a limit of N shared by several nodes admits exactly N of their concurrent requests', async () => {
    const prefix = `nodes${++prefixes}:`;
    const nodes = [1, 2, 3, 4].map(() => new RedisLimiter(client(), prefix));
    const now = Date.UTC(2026, 10, 29, 12);
    const checks = [rate(25, 60_000, 'rate:shared'), { ...quota(40), counter: 'quota:shared' }];
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => nodes[i % nodes.length]!.consume(SUBJECT, checks, now)));
    assert.equal(results.filter((r) => r.allowed).length, 25);
    // The quota was consumed only by the admitted requests.
    const peek = await nodes[0]!.peek(SUBJECT, checks, now);
    assert.equal(peek.states[1]!.remaining, 40 - 25);
  });

  test('cells expire when they stop limiting: a TAT a second after it passed, a quota at the end of its period', async () => {
    const redis = client();
    const prefix = `expiry${++prefixes}:`;
    const limiter = new RedisLimiter(redis, prefix);
    const now = Date.now();
    const dayEnd = now + 3_600_000;
    assert.equal((await limiter.consume(SUBJECT, [rate(10, 1000, 'r'), { ...quota(5, 0, now - 1000, dayEnd), counter: 'q' }], now)).allowed, true);
    const [tatTtl, quotaTtl] = await Promise.all([redis.pttl(`${prefix}{${SUBJECT}}:r`), redis.pttl(`${prefix}{${SUBJECT}}:q`)]);
    assert.ok(tatTtl > 1000 && tatTtl <= 1100, `TAT cell lives a second past its TAT (100 ms ahead), not ${tatTtl}`);
    assert.ok(quotaTtl > 3_500_000 && quotaTtl <= 3_600_000, `quota cell lives until the period ends, not ${quotaTtl}`);
  });

  test("a call's cells share one hash tag, its subject (one Redis Cluster slot), and are named within it", async () => {
    const redis = client();
    const prefix = `tags${++prefixes}:`;
    const limiter = new RedisLimiter(redis, prefix);
    await limiter.consume(SUBJECT, [rate(5, 60_000, 'rl:per-minute'), quota(10)], Date.UTC(2026, 10, 29, 12));
    assert.deepEqual((await redis.keys(`${prefix}*`)).sort(), [`${prefix}{${SUBJECT}}:q`, `${prefix}{${SUBJECT}}:rl:per-minute`]);
  });

  test('a call fails (rejects) when Redis cannot be reached, so the caller can apply its fallback', async () => {
    const down = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    const errors: Error[] = [];
    down.on('error', (error: Error) => errors.push(error));
    clients.push(down);
    await assert.rejects(new RedisLimiter(down, 'x:').consume(SUBJECT, [rate(1)], Date.now()));
  });
});
