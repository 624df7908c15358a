import { gcra, gcraPeek } from '../domain/gcra.ts';
import type { LimitCheck, LimitResult, LimitState, Limiter } from './port.ts';

/** Exact on one node: JavaScript runs each consume() to completion, so check-then-update is atomic. */
export class MemoryLimiter implements Limiter {
  readonly #tats = new Map<string, number>();
  readonly #quotas = new Map<string, { used: number; periodEnd: number }>();

  consume(checks: readonly LimitCheck[], now: number): LimitResult {
    return this.#decide(checks, now, true);
  }

  peek(checks: readonly LimitCheck[], now: number): LimitResult {
    return this.#decide(checks, now, false);
  }

  #decide(checks: readonly LimitCheck[], now: number, commit: boolean): LimitResult {
    let deniedBy: LimitResult['deniedBy'] = null;
    let retryAfterMs = 0;
    const states: LimitState[] = [];
    // The value each check would store when admitted: a new TAT (rate) or the new count (quota).
    const next: number[] = [];
    for (const check of checks) {
      if (check.kind === 'rate') {
        const outcome = gcra(check, this.#tats.get(check.counter), now);
        if (!outcome.allowed && deniedBy === null) ((deniedBy = 'rate'), (retryAfterMs = outcome.resetMs));
        next.push(outcome.tat);
        states.push(rateState(check, outcome.remaining, outcome.resetMs));
      } else {
        const used = this.#quotaUsed(check);
        if (used >= check.limit && deniedBy === null) ((deniedBy = 'quota'), (retryAfterMs = check.periodEnd - now));
        next.push(used + 1);
        states.push(quotaState(check, check.limit - used - 1, now));
      }
    }
    if (deniedBy === null && commit) {
      for (let i = 0; i < checks.length; i++) {
        const check = checks[i]!;
        if (check.kind === 'rate') this.#tats.set(check.counter, next[i]!);
        else {
          const quota = this.#quotas.get(check.counter);
          if (quota && quota.periodEnd === check.periodEnd) quota.used = next[i]!;
          else this.#quotas.set(check.counter, { used: next[i]!, periodEnd: check.periodEnd });
        }
      }
      return { allowed: true, deniedBy, retryAfterMs, states };
    }
    // Refused, or only peeked at: nothing is consumed, and each limit reports what it still has.
    const untouched = checks.map((check) => {
      if (check.kind === 'quota') return quotaState(check, check.limit - this.#quotaUsed(check), now);
      const peek = gcraPeek(check, this.#tats.get(check.counter), now);
      return rateState(check, peek.remaining, peek.resetMs);
    });
    return { allowed: deniedBy === null, deniedBy, retryAfterMs, states: untouched };
  }

  /** Drops state that no longer limits anything; call periodically. */
  sweep(now: number): void {
    for (const [counter, tat] of this.#tats) if (tat <= now) this.#tats.delete(counter);
    for (const [counter, quota] of this.#quotas) if (quota.periodEnd <= now) this.#quotas.delete(counter);
  }

  #quotaUsed(check: Extract<LimitCheck, { kind: 'quota' }>): number {
    const current = this.#quotas.get(check.counter);
    return current && current.periodEnd === check.periodEnd ? current.used : check.seed;
  }
}

function rateState(check: Extract<LimitCheck, { kind: 'rate' }>, remaining: number, resetMs: number): LimitState {
  return { kind: 'rate', name: check.name, limit: check.limit, remaining, resetMs, windowMs: check.windowMs };
}

function quotaState(check: Extract<LimitCheck, { kind: 'quota' }>, remaining: number, now: number): LimitState {
  const period = check.periodEnd - check.periodStart;
  return { kind: 'quota', name: check.name, limit: check.limit, remaining: Math.max(0, remaining), resetMs: check.periodEnd - now, windowMs: period };
}
