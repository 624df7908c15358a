import { decideLimits, type LimitCells } from './limit-decision.ts';
import type { LimitCheck, LimitResult, Limiter } from './port.ts';

/** Exact on one thread: JavaScript runs each consume() to completion, so check-then-update is atomic. */
export class MemoryLimiter implements Limiter {
  readonly #tats = new Map<string, number>();
  /**
   * Quota counts by period (its end) and counter: a count is a small integer in the Map itself, with
   * no object per key to say which period it is for (issue 14: 100k hot keys each hold one).
   */
  readonly #quotas = new Map<number, Map<string, number>>();

  /**
   * The cells read and write by each check's counter, so one object serves every call (none is made
   * per request); the index decideLimits also passes is what the shared-memory limiter needs.
   */
  readonly #cells: LimitCells = {
    tat: (_i, check) => this.#tats.get(check.counter),
    quota: (_i, check) => this.#quotas.get(check.window.end)?.get(check.counter),
    setTat: (_i, check, tat) => void this.#tats.set(check.counter, tat),
    setQuota: (_i, check, used, periodEnd) => {
      let period = this.#quotas.get(periodEnd);
      if (period === undefined) this.#quotas.set(periodEnd, (period = new Map()));
      period.set(check.counter, used);
    },
  };

  consume(checks: readonly LimitCheck[], now: number): LimitResult {
    return decideLimits(checks, now, true, this.#cells);
  }

  peek(checks: readonly LimitCheck[], now: number): LimitResult {
    return decideLimits(checks, now, false, this.#cells);
  }

  /** Drops state that no longer limits anything; call periodically. */
  sweep(now: number): void {
    for (const [counter, tat] of this.#tats) if (tat <= now) this.#tats.delete(counter);
    for (const periodEnd of this.#quotas.keys()) if (periodEnd <= now) this.#quotas.delete(periodEnd);
  }
}
