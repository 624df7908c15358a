import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { startRedis, type PrivateRedis } from '../../test/support/redis.ts';
import { waitFor } from '../../test/support/wait.ts';
import type { Config } from '../config/load.ts';
import { connectRedis, whenReady } from '../redis/connection.ts';
import { Health } from '../telemetry/health.ts';
import { RedisDoorbell } from './redis-doorbell.ts';

let server: PrivateRedis;
const connections: Redis[] = [];
before(async () => {
  server = await startRedis();
});
after(async () => {
  for (const c of connections) c.disconnect();
  await server.stop();
});

/** The doorbell's two connections as gatehouse.ts makes them (startDoorbell, connectSubscriber). */
async function doorbellConnections(): Promise<{ publisher: Redis; subscriber: Redis }> {
  const config = { redis: { url: server.url, sentinels: [], commandTimeoutMs: 250 }, redisPassword: server.password } as unknown as Pick<
    Config,
    'redis' | 'redisPassword'
  >;
  const publisher = await connectRedis(config, 'doorbell');
  const subscriber = await connectRedis(config, 'doorbell-subscriber');
  subscriber.options.enableOfflineQueue = true;
  subscriber.options.commandTimeout = undefined;
  for (const c of [publisher, subscriber]) (connections.push(c), c.on('error', () => undefined));
  return { publisher, subscriber };
}

test('a node starting while Redis is away starts (listen resolves), and hears rings once Redis is back', async () => {
  await server.pause();
  let rings = 0;
  try {
    const { publisher, subscriber } = await doorbellConnections();
    const doorbell = new RedisDoorbell(publisher, subscriber, new Health(pino({ level: 'silent' }), Date.now));
    // Redis away: the node starts anyway (the store change feed polls), as docs/deployment.md says.
    await assert.doesNotReject(doorbell.listen(() => rings++));
  } finally {
    await server.resume();
  }
  // Subscribed once Redis answers: it reads the feed then, and hears the next ring.
  await waitFor(() => rings > 0, { timeoutMs: 10_000, what: 'a read once subscribed' });
  const before = rings;
  const other = await doorbellConnections();
  const ringer = new RedisDoorbell(other.publisher, other.subscriber, new Health(pino({ level: 'silent' }), Date.now));
  await whenReady(other.publisher, 5000);
  ringer.ring();
  await waitFor(() => rings > before, { what: 'a ring from another node' });
});
