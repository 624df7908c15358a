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
 * is accepted there. The ids this thread recorded locally are handed over to Redis, with their expiry,
 * when it is back: before this thread answers from Redis again, and when its connection is ready again
 * (`handOver`), so another node refuses them too while their window is open. The outage is reported
 * (`redis-replay-set`, not critical: other routes serve) until the handover is done.
 */
export class FallbackReplaySet implements ReplaySet {
  readonly #shared: ReplaySet;
  readonly #local: MemoryReplaySet;
  readonly #default: WhenUnavailable;
  readonly #outage: RedisOutage;
  /** Ids recorded here while Redis was away, with when each is forgotten, oldest first: what Redis must be told. */
  readonly #pending = new Map<string, number>();
  #handingOver: Promise<void> | null = null;

  constructor(shared: ReplaySet, local: MemoryReplaySet, options: { whenUnavailable: WhenUnavailable; health: HealthReporter }) {
    this.#shared = shared;
    this.#local = local;
    this.#default = options.whenUnavailable;
    this.#outage = new RedisOutage(options.health, REDIS_REPLAY_SET, false);
  }

  async firstUse(id: string, now: number, forgetAt: number, whenUnavailable?: WhenUnavailable): Promise<ReplayVerdict> {
    let verdict: ReplayVerdict;
    try {
      // Other nodes never saw the ids recorded here during the outage: Redis is told (RFC 9449 §11.1),
      // beside this request, not before it: this node's own check below needs no copy, and a request
      // must not wait for up to MAX_PENDING ids to cross. handOver reports its failures; it never rejects.
      if (this.#pending.size > 0) void this.handOver(now);
      verdict = await this.#shared.firstUse(id, now, forgetAt);
    } catch (error) {
      this.#outage.failed(error);
      if ((whenUnavailable ?? this.#default) === 'fail-closed') return 'unavailable';
      // Without the mark, Redis back would answer `first` for this proof again: one that cannot be
      // recorded as used is not accepted (RFC 9449 §11.1). Nor is one Redis could not be told of.
      if (!this.#local.holdUntil(LOCAL_UNTIL, now, forgetAt) || !this.#roomToPend(now)) return 'unavailable';
      const local = this.#local.firstUse(id, now, forgetAt);
      if (local === 'first') this.#pending.set(id, forgetAt);
      return local;
    }
    this.#outage.ok();
    // Redis never saw the ids this node recorded while it was away: one used here then is still a replay here.
    // The mark is in the local set, which every gateway thread of the node shares: one thread's outage is every thread's.
    if (verdict === 'first' && this.#local.holds(LOCAL_UNTIL, now) && this.#local.firstUse(id, now, forgetAt) === 'replayed') return 'replayed';
    return verdict;
  }

  /**
   * Copies the ids recorded here during an outage to Redis, if any: called when the connection is
   * ready again, so they reach Redis even before this thread's next DPoP request. A failure is
   * reported to health (the log and readiness) and the ids are kept for the next attempt.
   */
  async handOver(now: number): Promise<void> {
    if (this.#pending.size === 0) return;
    try {
      await this.#copyPending(now);
      this.#outage.ok();
    } catch (error) {
      this.#outage.failed(error);
    }
  }

  sweep(now: number): void {
    this.#local.sweep(now);
    this.#forgetPending(now);
  }

  /** One copy at a time, which every caller meanwhile waits for. */
  #copyPending(now: number): Promise<void> {
    this.#handingOver ??= this.#copyBatches(now).finally(() => (this.#handingOver = null));
    return this.#handingOver;
  }

  async #copyBatches(now: number): Promise<void> {
    this.#forgetPending(now);
    while (this.#pending.size > 0) {
      const batch: [string, number][] = [];
      for (const entry of this.#pending) if (batch.push(entry) === HANDOVER_BATCH) break;
      // Concurrent commands on one connection go out together (one round trip per batch). `replayed`:
      // another node recorded it too (used there as well, during the outage): Redis holds it either way.
      await Promise.all(batch.map(async ([id, forgetAt]) => this.#shared.firstUse(id, now, forgetAt)));
      for (const [id] of batch) this.#pending.delete(id);
    }
  }

  /** Ids are pended in the order they are forgotten (now plus a fixed window): the expired ones are first. */
  #forgetPending(now: number): void {
    for (const [id, forgetAt] of this.#pending) {
      if (forgetAt > now) break;
      this.#pending.delete(id);
    }
  }

  #roomToPend(now: number): boolean {
    if (this.#pending.size < MAX_PENDING) return true;
    this.#forgetPending(now);
    return this.#pending.size < MAX_PENDING;
  }
}

/**
 * The replay set of a node with Redis, handed the outage's ids as soon as its connection is ready
 * again, and tried every HANDOVER_RETRY_MS: an outage of commands timing out on a connection that
 * never dropped (a stalled server, a partition that heals) ends without 'ready', and this thread may
 * take no DPoP request for longer than the ids' window, while other nodes are asked to accept them.
 */
export function redisReplaySetWithFallback(
  redis: Redis,
  local: MemoryReplaySet,
  options: { whenUnavailable: WhenUnavailable; health: HealthReporter; clock: () => number },
): FallbackReplaySet {
  const set = new FallbackReplaySet(new RedisReplaySet(redis), local, options);
  // handOver never rejects: a failure is reported to health and retried. With nothing pending it returns at once.
  const handOver = () => void set.handOver(options.clock());
  redis.on('ready', handOver);
  const retries = setInterval(handOver, HANDOVER_RETRY_MS).unref();
  // Closed for good (the node stops): nothing more can be handed over.
  redis.once('end', () => clearInterval(retries));
  return set;
}

/** How often ids still waiting for Redis are offered to it again (one command at most while it is away). */
const HANDOVER_RETRY_MS = 5_000;

/** At most this many ids wait for Redis per thread (a few MB): past it, DPoP requests are refused until Redis is back. */
const MAX_PENDING = 100_000;
/** Ids copied to Redis per round trip when it is back. */
const HANDOVER_BATCH = 500;

/** The local set's mark of when the last id recorded in it during an outage is forgotten (no proof id starts with a NUL: ids are `<jkt>:<jti>`). */
const LOCAL_UNTIL = '\u0000local-until';
