import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { whenReady } from '../../src/redis/connection.ts';
import { startRedis, type PrivateRedis } from './redis.ts';

export interface PrivateRedisClients {
  /** The private server, to pause and resume. */
  readonly server: PrivateRedis;
  /** One client the tests share. */
  readonly shared: Redis;
  /** A new client that fails at once while Redis is away, as connectRedis's does. */
  client(): Promise<Redis>;
}

/**
 * A private Redis for this test file (started before its tests, stopped after) and clients of it.
 * Connection errors while the server is paused on purpose are kept, not thrown: the calls that fail
 * are what the tests look at.
 */
export function usePrivateRedis(): PrivateRedisClients {
  let server: PrivateRedis | undefined;
  let shared: Redis | undefined;
  const clients: Redis[] = [];
  const connectionErrors: Error[] = [];
  const client = async (): Promise<Redis> => {
    const redis = new Redis(started().urlWithPassword, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 50 });
    redis.on('error', (error: Error) => connectionErrors.push(error));
    clients.push(redis);
    assert.ok(await whenReady(redis, 5000), 'the private Redis answers');
    return redis;
  };
  const started = (): PrivateRedis => server ?? assert.fail('the private Redis is used before its tests start');
  before(async () => {
    server = await startRedis();
    shared = await client();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await server?.stop();
  });
  return {
    get server() {
      return started();
    },
    get shared() {
      return shared ?? assert.fail('the private Redis is used before its tests start');
    },
    client,
  };
}
