import { decideLimits, type LimitCells } from './limit-decision.ts';
import type { LimitCheck, LimitResult, Limiter } from './port.ts';

/** Exact on one thread: JavaScript runs each consume() to completion, so check-then-update is atomic. */
export class MemoryLimiter implements Limiter {
  readonly #tats = new Map<string, number>();
  readonly #quotas = new Map<string, { used: number; periodEnd: number }>();

  /**
   * The cells read and write by each check's counter, so one object serves every call (none is made
   * per request); the index decideLimits also passes is what the shared-memory limiter needs.
   */
  readonly #cells: LimitCells = {
    tat: (_i, check) => this.#tats.get(check.counter),
    quota: (_i, check) => this.#quotas.get(check.counter),
    setTat: (_i, check, tat) => void this.#tats.set(check.counter, tat),
    setQuota: (_i, check, used, periodEnd) => {
      const quota = this.#quotas.get(check.counter);
      if (quota) ((quota.used = used), (quota.periodEnd = periodEnd));
      else this.#quotas.set(check.counter, { used, periodEnd });
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
    for (const [counter, quota] of this.#quotas) if (quota.periodEnd <= now) this.#quotas.delete(counter);
  }
}
