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

export function gcra(rule: RateLimitRule, storedTat: number | undefined, now: number, cost = 1): GcraOutcome {
  const interval = rule.windowMs / rule.limit;
  const tat = storedTat === undefined || storedTat < now ? now : storedTat;
  const newTat = tat + interval * cost;
  const allowAt = newTat - rule.windowMs;
  if (allowAt > now) {
    return { allowed: false, tat, remaining: 0, resetMs: Math.ceil(allowAt - now) };
  }
  const remaining = Math.floor((rule.windowMs - (newTat - now)) / interval + 1e-9);
  return { allowed: true, tat: newTat, remaining, resetMs: Math.ceil(newTat - now) };
}

/** What a rule shows without consuming (for headers of a request that another limit refused). */
export function gcraPeek(rule: RateLimitRule, storedTat: number | undefined, now: number): GcraOutcome {
  const interval = rule.windowMs / rule.limit;
  const tat = storedTat === undefined || storedTat < now ? now : storedTat;
  const remaining = Math.max(0, Math.floor((rule.windowMs - (tat - now)) / interval + 1e-9));
  return { allowed: remaining > 0, tat, remaining, resetMs: Math.ceil(tat - now) };
}
