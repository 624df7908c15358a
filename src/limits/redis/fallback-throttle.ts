import type { HealthReporter } from '../../telemetry/health.ts';
import { memoryThrottles } from '../failure-throttle.ts';
import type { Throttle, ThrottleFactory, ThrottleRule } from '../port.ts';
import { RedisOutage } from './outage.ts';
import type { Redis } from 'ioredis';
import { RedisThrottle } from './redis-throttle.ts';

export const REDIS_THROTTLE = 'redis-throttle';

/**
 * A shared throttle (Redis) that, while Redis cannot answer, counts in this node with the limit
 * divided by the expected number of nodes, so the nodes together still allow about `limit` failures
 * per window. Always local, whatever redis.whenUnavailable says: refusing every credential (and the
 * admin API) for want of a failure counter would turn a Redis outage into a lock-out. A failure
 * counted locally during an outage is not carried over to Redis when it returns.
 */
export class FallbackThrottle implements Throttle {
  readonly #shared: Throttle;
  readonly #local: Throttle;
  readonly #outage: RedisOutage;

  constructor(shared: Throttle, local: Throttle, outage: RedisOutage) {
    this.#shared = shared;
    this.#local = local;
    this.#outage = outage;
  }

  async blockedFor(slot: string, now: number): Promise<number> {
    try {
      const wait = await this.#shared.blockedFor(slot, now);
      this.#outage.ok();
      return wait;
    } catch (error) {
      this.#outage.failed(error);
      return this.#local.blockedFor(slot, now);
    }
  }

  async recordFailure(slot: string, now: number): Promise<void> {
    try {
      await this.#shared.recordFailure(slot, now);
      this.#outage.ok();
    } catch (error) {
      this.#outage.failed(error);
      await this.#local.recordFailure(slot, now);
    }
  }

  async forget(slot: string): Promise<void> {
    // Both: a slot counted locally during an outage is forgiven too.
    await this.#local.forget(slot);
    try {
      await this.#shared.forget(slot);
      this.#outage.ok();
    } catch (error) {
      this.#outage.failed(error);
    }
  }

  sweep(now: number): void {
    this.#local.sweep(now);
  }
}

/** Throttles shared through Redis, each with its local share for outages; one health component for all. */
export function redisThrottles(
  redis: Redis,
  options: {
    nodes: number;
    health: HealthReporter;
    prefix?: string;
    /** Default: in Maps; gateway workers pass their shared table's. */ local?: ThrottleFactory;
  },
): ThrottleFactory {
  const outage = new RedisOutage(options.health, REDIS_THROTTLE, false);
  const local = options.local ?? memoryThrottles();
  return (rule: ThrottleRule) =>
    new FallbackThrottle(
      new RedisThrottle(redis, rule, options.prefix),
      local({ ...rule, limit: Math.max(1, Math.floor(rule.limit / options.nodes)) }),
      outage,
    );
}
