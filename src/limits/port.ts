import type { WhenRedisUnavailable } from '../domain/entities.ts';
import type { PeriodWindow } from '../domain/quota-period.ts';

/**
 * The limiter port: rate limits (GCRA) and calendar quotas, checked and consumed together.
 * `consume` is all-or-nothing: when any check refuses, nothing is consumed, so a request refused by
 * its quota does not also eat its rate limit (and the other way round). The in-memory implementation
 * is exact on one node; the Redis one (one Lua script per call) is exact across nodes.
 *
 * A call names its `subject`, who its counters limit (a key's lineage, an API's callers), once for all
 * its checks; a check's `counter` names a counter within that subject, so two subjects' `rl:per-second`
 * are two counters. Checks that say nothing of a subject can be shared by every key with the same
 * settings (issue 14: no check objects per hot key), and Redis uses the subject as the hash tag of
 * all a call's keys (one Cluster slot).
 */
export type LimitCheck =
  | { kind: 'rate'; counter: string; name: string; limit: number; windowMs: number }
  | {
      kind: 'quota';
      counter: string;
      name: string;
      limit: number;
      /** The calendar period counted: periodWindow's object, shared by every check in the period (no copy per key). */
      window: PeriodWindow;
      /** Already used this period according to the store, for an implementation that starts empty. */
      seed: number;
    };

/** A quota's check, the variant of LimitCheck the quota cells and the usage recorder read. */
export type QuotaCheck = Extract<LimitCheck, { kind: 'quota' }>;

export interface LimitState {
  kind: 'rate' | 'quota';
  name: string;
  limit: number;
  remaining: number;
  /** Milliseconds until the limit is fully available again (quota: until the period ends). */
  resetMs: number;
  /** The window (rate) or the calendar period (quota) in milliseconds, for RateLimit-Policy. */
  windowMs: number;
}

export interface LimitResult {
  allowed: boolean;
  deniedBy: 'rate' | 'quota' | null;
  /** When allowed is false: how long until the refused check could admit one request. */
  retryAfterMs: number;
  states: LimitState[];
}

export interface Limiter {
  /** `whenUnavailable`: what a shared limiter does if it cannot answer (the API's setting); local ones ignore it. */
  consume(subject: string, checks: readonly LimitCheck[], now: number, whenUnavailable?: WhenUnavailable): LimitResult | Promise<LimitResult>;
  /**
   * What `consume` would answer now, changing nothing: for a check that must not use the key's budget
   * (POST /admin/v1/keys/verify with `consume: false`). The states are what is left before this request.
   */
  peek(subject: string, checks: readonly LimitCheck[], now: number, whenUnavailable?: WhenUnavailable): LimitResult | Promise<LimitResult>;
}

/**
 * The failure throttle port (failure-throttle.ts): failed credential checks per slot (a client address,
 * an account name, an (account, address) pair, a device), a GCRA bucket each. In memory it answers at
 * once; in Redis (redis/redis-throttle.ts) after one round trip, so a limit holds across nodes.
 */
export interface Throttle {
  /** Milliseconds until this slot may try again, or 0 when it may try now. */
  blockedFor(slot: string, now: number): number | Promise<number>;
  /** Counts one failure against the slot (a slot already out of tokens is not charged further). */
  recordFailure(slot: string, now: number): void | Promise<void>;
  /** Clears a slot, after its owner proved the secret it was failing on. */
  forget(slot: string): void | Promise<void>;
  /** Drops state held in process memory that no longer throttles anything; call periodically. */
  sweep(now: number): void;
}

/** One throttle's rule: `name` keeps its slots apart from other throttles' in a shared store. */
export interface ThrottleRule {
  name: string;
  limit: number;
  windowMs: number;
  /** Slots are client addresses, counted as an IPv4 address or an IPv6 /64 (domain/ip-allowlist.ts addressSlot). */
  perAddress?: boolean;
}

/** Makes the throttles a process needs, all in memory or all shared (gatehouse.ts decides). */
export type ThrottleFactory = (rule: ThrottleRule) => Throttle;

/** What a node does with a shared counter (limits, the DPoP replay set) while Redis cannot answer. */
export type WhenUnavailable = WhenRedisUnavailable;

/**
 * A limit that could not be counted right now (a shared counter's lock held too long): the request is
 * refused with a retryable 503, never admitted uncounted.
 */
export class LimiterUnavailableError extends Error {}
