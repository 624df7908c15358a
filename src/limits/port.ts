/**
 * The limiter port: rate limits (GCRA) and calendar quotas, checked and consumed together.
 * `consume` is all-or-nothing: when any check refuses, nothing is consumed, so a request refused by
 * its quota does not also eat its rate limit (and the other way round). The in-memory implementation
 * is exact on one node; a Redis implementation (one Lua script per call) follows for several nodes.
 */
export type LimitCheck =
  | { kind: 'rate'; counter: string; name: string; limit: number; windowMs: number }
  | {
      kind: 'quota';
      counter: string;
      name: string;
      limit: number;
      periodStart: number;
      periodEnd: number;
      /** Already used this period according to the store, for an implementation that starts empty. */
      seed: number;
    };

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
  consume(checks: readonly LimitCheck[], now: number): LimitResult | Promise<LimitResult>;
  /**
   * What `consume` would answer now, changing nothing: for a check that must not use the key's budget
   * (POST /admin/v1/keys/verify with `consume: false`). The states are what is left before this request.
   */
  peek(checks: readonly LimitCheck[], now: number): LimitResult | Promise<LimitResult>;
}
