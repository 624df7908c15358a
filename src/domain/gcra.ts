import type { RateLimitRule } from './entities.ts';

/**
 * Generic Cell Rate Algorithm (ITU-T I.371, as used by leaky-bucket limiters): one number of state per
 * limited thing, the theoretical arrival time (TAT). A rule of `limit` per `windowMs` admits a burst of
 * `limit`, then one request every windowMs/limit. It is exact (never admits more than that shape
 * allows, whatever the concurrency, as long as updates are atomic) and needs O(1) memory, which also
 * makes it a single atomic step in Redis later.
 */
export interface GcraOutcome {
  allowed: boolean;
  /** The TAT to store when the request is admitted. */
  tat: number;
  remaining: number;
  /** Milliseconds until the bucket is full again (allowed) or until one request fits (denied). */
  resetMs: number;
}

/**
 * Times are epoch milliseconds on a grid of 1/1024 ms, and the emission interval is a whole number of
 * grid steps (rounded down, at least one), with the burst tolerance `limit` intervals (not windowMs).
 * Then a TAT plus intervals is exact in a float64 up to 2^43 ms (the year 2248) and a burst is exactly
 * `limit`; the sustained rate is off by less than one step per interval, and at most 1,024 per ms.
 * With windowMs/limit as it came (1000/6 = 166.66...), each sum near 1.8e12 was rounded to the float
 * grid, and the N-th request of a burst of N was refused for 76 of the limits 1 to 100 per second or
 * per minute. The Redis scripts (limits/redis/) compute the same.
 */
const GRID = 1024;
export const gcraInterval = (rule: RateLimitRule): number => Math.max(1, Math.floor((rule.windowMs / rule.limit) * GRID)) / GRID;
export const gcraTime = (now: number): number => Math.floor(now * GRID) / GRID;

export function gcra(rule: RateLimitRule, storedTat: number | undefined, at: number, cost = 1): GcraOutcome {
  const interval = gcraInterval(rule);
  const now = gcraTime(at);
  const tat = storedTat === undefined || storedTat < now ? now : storedTat;
  const burst = interval * rule.limit;
  const newTat = tat + interval * cost;
  const allowAt = newTat - burst;
  if (allowAt > now) {
    return { allowed: false, tat, remaining: 0, resetMs: Math.ceil(allowAt - now) };
  }
  const remaining = Math.floor((burst - (newTat - now)) / interval);
  return { allowed: true, tat: newTat, remaining, resetMs: Math.ceil(newTat - now) };
}

/** What a rule shows without consuming (for headers of a request that another limit refused). */
export function gcraPeek(rule: RateLimitRule, storedTat: number | undefined, at: number): GcraOutcome {
  const interval = gcraInterval(rule);
  const now = gcraTime(at);
  const tat = storedTat === undefined || storedTat < now ? now : storedTat;
  const remaining = Math.max(0, Math.floor((interval * rule.limit - (tat - now)) / interval));
  return { allowed: remaining > 0, tat, remaining, resetMs: Math.ceil(tat - now) };
}
