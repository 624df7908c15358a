import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { refusedCaMode } from '../config/file-modes.ts';
import type { Redis, RedisOptions } from 'ioredis';
import type { Config } from '../config/load.ts';

/**
 * The least a Redis ACL user needs for Gatehouse (test/redis-acl.test.ts runs a node as such a user):
 * keys and channels under `gatehouse:`, the scripts (EVALSHA, and EVAL when Redis has not seen one
 * yet; the scripts themselves call GET and SET), GET, SET and DEL for the throttle and the DPoP replay
 * set, PUBLISH and SUBSCRIBE for the doorbell, and what ioredis sends when it connects (INFO for its
 * ready check, CLIENT SETNAME, SELECT for a database other than 0, PING).
 * `ACL SETUSER gatehouse on >PASSWORD <these rules>`.
 */
export const LEAST_ACL_RULES = [
  'resetkeys',
  '~gatehouse:*',
  'resetchannels',
  '&gatehouse:*',
  '-@all',
  '+evalsha',
  '+eval',
  '+get',
  '+set',
  '+del',
  '+publish',
  '+subscribe',
  '+ping',
  '+info',
  '+client|setname',
  '+select',
] as const;

/** The health component of a process's Redis connection (non-critical: limits fall back, the feed polls). */
export const REDIS_CONNECTION = 'redis';

/**
 * Resolves once the connection is ready, or after `timeoutMs` (Redis may be down at start: the node
 * starts anyway, its limits fall back, and ioredis keeps reconnecting).
 */
export function whenReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => (redis.off('ready', onReady), resolve(false)), timeoutMs);
    const onReady = () => (clearTimeout(timer), resolve(true));
    redis.once('ready', onReady);
  });
}

/**
 * A Redis connection as the configuration describes it: one server (redis://, or rediss:// for TLS)
 * or a Sentinel-monitored master; an ACL user and password; a short command timeout, and no offline
 * queue, so a limiter call fails at once while Redis is away instead of waiting in a queue (the
 * caller then applies redis.whenUnavailable). ioredis reconnects by itself. It is loaded here, on
 * first use: a node without Redis does not load it (some 150 ms of a gateway worker's start).
 */
export async function connectRedis(config: Pick<Config, 'redis' | 'redisPassword'>, purpose: string): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const r = config.redis;
  if (!r.url && r.sentinels.length === 0) throw new Error('redis.url or redis.sentinels is not set');
  const url = r.url ? new URL(r.url) : null;
  const tls = url?.protocol === 'rediss:' ? { ...(r.caFile ? { ca: readCaChecked('redis.caFile', r.caFile) } : {}) } : undefined;
  const options: RedisOptions = {
    connectionName: `gatehouse-${purpose}`,
    ...(r.username ? { username: r.username } : {}),
    ...(config.redisPassword ? { password: config.redisPassword } : {}),
    ...(tls ? { tls } : {}),
    commandTimeout: r.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    // Reconnect quickly at first, then every 2 s at most.
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
  };
  if (r.sentinels.length > 0) {
    return new Redis({
      ...options,
      sentinels: r.sentinels.map((s) => ({ host: s.slice(0, s.lastIndexOf(':')), port: Number(s.slice(s.lastIndexOf(':') + 1)) })),
      name: r.sentinelMaster!,
      ...(config.redisPassword ? { sentinelPassword: config.redisPassword } : {}),
      ...(tls ? { sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
    });
  }
  return new Redis({
    ...options,
    host: url!.hostname,
    port: Number(url!.port || 6379),
    db: Number(url!.pathname.slice(1) || 0),
  });
}

/**
 * A CA file's bytes, refused (naming the setting, path and why) when anyone may write it, on the very
 * file read: a gateway worker started again after a crash reads it long after start checked it.
 */
function readCaChecked(setting: string, file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const refused = refusedCaMode(setting, file, fstatSync(fd).mode);
    if (refused !== null) throw new Error(refused);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
