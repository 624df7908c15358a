import type { Redis } from 'ioredis';
import { gcra, gcraPeek } from '../../domain/gcra.ts';
import type { RateLimitRule } from '../../domain/entities.ts';
import { addressSlot } from '../../domain/ip-allowlist.ts';
import type { Throttle, ThrottleRule } from '../port.ts';
import { digest, KEY_PREFIX, redisKey } from './keys.ts';

/**
 * Charges one failure to a slot's GCRA cell, atomically (Redis runs a script to completion): the same
 * arithmetic as domain/gcra.ts, so a slot out of tokens is not charged further. The cell holds the
 * TAT and expires a second after it has passed (limits-script.ts says why), when the slot is whole again.
 * KEYS[1]: the cell. ARGV: now, windowMs, limit.
 */
export const THROTTLE_SCRIPT = `
-- Times on a grid of 1/1024 ms and intervals whole steps of it, rounded down: exact sums (domain/gcra.ts).
local now = math.floor(tonumber(ARGV[1]) * 1024) / 1024
local w = tonumber(ARGV[2])
local v = redis.call('GET', KEYS[1])
local tat = now
if v and tonumber(v) > now then tat = tonumber(v) end
local interval = math.max(1, math.floor(w / tonumber(ARGV[3]) * 1024)) / 1024
local newTat = tat + interval
if newTat - interval * tonumber(ARGV[3]) > now then return 0 end
redis.call('SET', KEYS[1], string.format('%.17g', newTat), 'PX', math.ceil(newTat - now) + 1000)
return 1
`;

type RedisWithThrottle = Redis & { gatehouseThrottle(key: string, now: number, windowMs: number, limit: number): Promise<number> };

/**
 * A failure throttle shared by every node: a check is one GET, a failure one script call (one round
 * trip each), so `limit` failures per window hold across all nodes, not per node. Cells are named
 * `gatehouse:{thr:<throttle>:<digest of the slot>}:tat`.
 */
export class RedisThrottle implements Throttle {
  readonly #redis: RedisWithThrottle;
  readonly #rule: RateLimitRule;
  readonly #name: string;
  readonly #prefix: string;
  readonly #slotOf: (slot: string) => string;

  constructor(redis: Redis, rule: ThrottleRule, prefix = KEY_PREFIX) {
    if (!(rule.limit >= 1) || !(rule.windowMs > 0)) throw new Error('a throttle needs limit >= 1 and windowMs > 0');
    if (!('gatehouseThrottle' in redis)) redis.defineCommand('gatehouseThrottle', { numberOfKeys: 1, lua: THROTTLE_SCRIPT });
    this.#redis = redis as RedisWithThrottle;
    this.#rule = { name: 'auth-failures', limit: rule.limit, windowMs: rule.windowMs };
    this.#name = rule.name;
    this.#prefix = prefix;
    this.#slotOf = rule.perAddress ? addressSlot : (slot) => slot;
  }

  async blockedFor(slot: string, now: number): Promise<number> {
    const stored = await this.#redis.get(this.#key(slot));
    const tat = stored === null ? undefined : Number(stored);
    if (tat === undefined || gcraPeek(this.#rule, tat, now).remaining > 0) return 0;
    return gcra(this.#rule, tat, now).resetMs;
  }

  async recordFailure(slot: string, now: number): Promise<void> {
    await this.#redis.gatehouseThrottle(this.#key(slot), now, this.#rule.windowMs, this.#rule.limit);
  }

  async forget(slot: string): Promise<void> {
    await this.#redis.del(this.#key(slot));
  }

  /** Redis expires cells itself. */
  sweep(): void {}

  #key(slot: string): string {
    return redisKey(`thr:${this.#name}:${digest(this.#slotOf(slot))}`, 'tat', this.#prefix);
  }
}
