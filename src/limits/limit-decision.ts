import { gcra, gcraPeek } from '../domain/gcra.ts';
import type { LimitCheck, LimitResult, LimitState, QuotaCheck } from './port.ts';

type RateCheck = Extract<LimitCheck, { kind: 'rate' }>;

/**
 * Where a limiter keeps the state of the checks of one call, by the check's index: a Map (memory
 * limiter) or slots of a shared table (shared-memory limiter). Reads and writes happen inside one
 * `decide`, which the limiter runs atomically (one JavaScript turn, or under the stripes' locks).
 */
export interface LimitCells {
  /** The rate check's theoretical arrival time, or undefined when it has none. */
  tat(i: number, check: LimitCheck): number | undefined;
  /** The quota check's stored use in the check's period, or undefined when it has none for that period. */
  quota(i: number, check: QuotaCheck): number | undefined;
  setTat(i: number, check: LimitCheck, tat: number): void;
  setQuota(i: number, check: LimitCheck, used: number, periodEnd: number): void;
}

/** decideLimits' values to store, reused by every call (see there); grown when a call has more checks. */
let scratch = new Float64Array(8);

/**
 * One all-or-nothing decision over several limits, shared by every Limiter implementation so they
 * cannot disagree: each check is evaluated; only when all admit (and `commit`) are the new values
 * written; a refused or peeked call reports what each limit still has, unconsumed.
 */
export function decideLimits(checks: readonly LimitCheck[], now: number, commit: boolean, cells: LimitCells): LimitResult {
  let deniedBy: LimitResult['deniedBy'] = null;
  let retryAfterMs = 0;
  // As long as the checks, filled in order: an empty array's first push would make room for 16.
  const states = new Array<LimitState>(checks.length);
  // The value each check would store when admitted: a new TAT (rate) or the new count (quota). A
  // scratch array shared by every call (this function runs to its end without yielding): no array
  // per request, and its numbers are not boxed.
  if (scratch.length < checks.length) scratch = new Float64Array(checks.length * 2);
  const next = scratch;
  for (let i = 0; i < checks.length; i++) {
    const check = checks[i]!;
    if (check.kind === 'rate') {
      const outcome = gcra(check, cells.tat(i, check), now);
      if (!outcome.allowed && deniedBy === null) ((deniedBy = 'rate'), (retryAfterMs = outcome.resetMs));
      next[i] = outcome.tat;
      states[i] = rateState(check, outcome.remaining, outcome.resetMs);
    } else {
      const used = quotaUsed(check, cells.quota(i, check));
      if (used >= check.limit && deniedBy === null) ((deniedBy = 'quota'), (retryAfterMs = check.window.end - now));
      next[i] = used + 1;
      states[i] = quotaState(check, check.limit - used - 1, now);
    }
  }
  if (deniedBy === null && commit) {
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i]!;
      if (check.kind === 'rate') cells.setTat(i, check, next[i]!);
      else cells.setQuota(i, check, next[i]!, check.window.end);
    }
    return { allowed: true, deniedBy, retryAfterMs, states };
  }
  // Refused, or only peeked at: nothing is consumed, and each limit reports what it still has.
  const untouched = checks.map((check, i) => {
    if (check.kind === 'quota') return quotaState(check, check.limit - quotaUsed(check, cells.quota(i, check)), now);
    const peek = gcraPeek(check, cells.tat(i, check), now);
    return rateState(check, peek.remaining, peek.resetMs);
  });
  return { allowed: deniedBy === null, deniedBy, retryAfterMs, states: untouched };
}

/** A period with no stored count starts from the store's seed. */
function quotaUsed(check: QuotaCheck, stored: number | undefined): number {
  return stored ?? check.seed;
}

function rateState(check: RateCheck, remaining: number, resetMs: number): LimitState {
  return { kind: 'rate', name: check.name, limit: check.limit, remaining, resetMs, windowMs: check.windowMs };
}

function quotaState(check: QuotaCheck, remaining: number, now: number): LimitState {
  const { start, end } = check.window;
  return { kind: 'quota', name: check.name, limit: check.limit, remaining: Math.max(0, remaining), resetMs: end - now, windowMs: end - start };
}
