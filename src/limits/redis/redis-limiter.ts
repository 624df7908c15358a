import type { Redis } from 'ioredis';
import { decideLimits } from '../limit-decision.ts';
import type { LimitCheck, LimitResult, Limiter } from '../port.ts';
import { KEY_PREFIX, redisKey } from './keys.ts';
import { LIMITS_SCRIPT } from './limits-script.ts';

/** ioredis with our script defined on it (defineCommand: EVALSHA, loading the script when Redis lacks it). */
type RedisWithLimits = Redis & { gatehouseLimits(keys: number, ...args: (string | number)[]): Promise<string[]> };

/**
 * Rate limits and quotas shared by every node: each call is one script run in Redis (limits-script.ts),
 * so a limit of N across all nodes admits at most N. Cells are named `gatehouse:{<subject>}:<counter>`:
 * a call names one subject for all its checks, so its cells share a hash tag (one Cluster slot).
 */
export class RedisLimiter implements Limiter {
  readonly #redis: RedisWithLimits;
  readonly #prefix: string;

  constructor(redis: Redis, prefix = KEY_PREFIX) {
    redis.defineCommand('gatehouseLimits', { lua: LIMITS_SCRIPT });
    this.#redis = redis as RedisWithLimits;
    this.#prefix = prefix;
  }

  consume(subject: string, checks: readonly LimitCheck[], now: number): Promise<LimitResult> {
    return this.#run(subject, checks, now, true);
  }

  peek(subject: string, checks: readonly LimitCheck[], now: number): Promise<LimitResult> {
    return this.#run(subject, checks, now, false);
  }

  async #run(subject: string, checks: readonly LimitCheck[], now: number, commit: boolean): Promise<LimitResult> {
    if (checks.length === 0) return decideLimits(checks, now, commit, NO_CELLS);
    const args: (string | number)[] = checks.map((c) => redisKey(subject, c.counter, this.#prefix));
    args.push(now, commit ? 1 : 0);
    for (const c of checks) {
      if (c.kind === 'rate') args.push('r', c.limit, c.windowMs, '-');
      else args.push('q', c.limit, c.window.end, c.seed);
    }
    const stored = await this.#redis.gatehouseLimits(checks.length, ...args);
    // The script decided and wrote; the same decision, made again from the values it read, gives the states.
    return decideLimits(checks, now, commit, {
      tat: (i) => (stored[i] ? Number(stored[i]) : undefined),
      // Stored as `used:periodEnd`: a count of another period is none for this one.
      quota: (i, check) => {
        const value = stored[i];
        if (!value) return undefined;
        const [used, periodEnd] = value.split(':');
        return Number(periodEnd) === check.window.end ? Number(used) : undefined;
      },
      setTat: () => undefined,
      setQuota: () => undefined,
    });
  }
}

const NO_CELLS = { tat: () => undefined, quota: () => undefined, setTat: () => undefined, setQuota: () => undefined };
