import type { Redis } from 'ioredis';
import type { WhenUnavailable } from '../limits/port.ts';
import { digest, KEY_PREFIX, redisKey } from '../limits/redis/keys.ts';
import { RedisOutage } from '../limits/redis/outage.ts';
import type { HealthReporter } from '../telemetry/health.ts';
import type { MemoryReplaySet, ReplaySet, ReplayVerdict } from './replay-set.ts';

export const REDIS_REPLAY_SET = 'redis-replay-set';

/**
 * One-time ids shared by every node: `SET key 1 NX PX <ms until forgetAt>` records an id only if
 * absent and answers whether it did, in one atomic command (one round trip); Redis forgets it itself.
 * Keys are `gatehouse:{dpop:<digest of the id>}:seen`.
 */
export class RedisReplaySet implements ReplaySet {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix = KEY_PREFIX) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async firstUse(id: string, now: number, forgetAt: number): Promise<ReplayVerdict> {
    const set = await this.#redis.set(redisKey(`dpop:${digest(id)}`, 'seen', this.#prefix), '1', 'PX', Math.max(1, Math.ceil(forgetAt - now)), 'NX');
    return set === 'OK' ? 'first' : 'replayed';
  }

  sweep(): void {}
}

/**
 * The shared set, and what to do while Redis cannot answer, per API: `fail-closed` answers
 * `unavailable` (the DPoP request is refused: no proof can be checked against other nodes' sightings);
 * `local` records in this node's set, which is the weaker guarantee that a proof is refused only if it
 * was seen here (or before the outage, in Redis): a proof replayed at another node during the outage
 * is accepted there. Ids recorded locally are not copied to Redis when it returns (they expire within
 * two DPoP windows). The outage is reported (`redis-replay-set`, not critical: other routes serve).
 */
export class FallbackReplaySet implements ReplaySet {
  readonly #shared: ReplaySet;
  readonly #local: MemoryReplaySet;
  readonly #default: WhenUnavailable;
  readonly #outage: RedisOutage;

  constructor(shared: ReplaySet, local: MemoryReplaySet, options: { whenUnavailable: WhenUnavailable; health: HealthReporter }) {
    this.#shared = shared;
    this.#local = local;
    this.#default = options.whenUnavailable;
    this.#outage = new RedisOutage(options.health, REDIS_REPLAY_SET, false);
  }

  async firstUse(id: string, now: number, forgetAt: number, whenUnavailable?: WhenUnavailable): Promise<ReplayVerdict> {
    let verdict: ReplayVerdict;
    try {
      verdict = await this.#shared.firstUse(id, now, forgetAt);
    } catch (error) {
      this.#outage.failed(error);
      if ((whenUnavailable ?? this.#default) === 'fail-closed') return 'unavailable';
      // Without the mark, Redis back would answer `first` for this proof again: one that cannot be
      // recorded as used is not accepted (RFC 9449 §11.1).
      if (!this.#local.holdUntil(LOCAL_UNTIL, now, forgetAt)) return 'unavailable';
      return this.#local.firstUse(id, now, forgetAt);
    }
    this.#outage.ok();
    // Redis never saw the ids this node recorded while it was away: one used here then is still a replay here.
    // The mark is in the local set, which every gateway thread of the node shares: one thread's outage is every thread's.
    if (verdict === 'first' && this.#local.holds(LOCAL_UNTIL, now) && this.#local.firstUse(id, now, forgetAt) === 'replayed') return 'replayed';
    return verdict;
  }

  sweep(now: number): void {
    this.#local.sweep(now);
  }
}

/** The local set's mark of when the last id recorded in it during an outage is forgotten (no proof id starts with a NUL: ids are `<jkt>:<jti>`). */
const LOCAL_UNTIL = '\u0000local-until';
