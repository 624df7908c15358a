import { decideLimits, type LimitCells } from './limit-decision.ts';
import type { LimitCheck, LimitResult, Limiter } from './port.ts';

/** Exact on one thread: JavaScript runs each consume() to completion, so check-then-update is atomic. */
export class MemoryLimiter implements Limiter {
  readonly #tats = new Map<string, number>();
  readonly #quotas = new Map<string, { used: number; periodEnd: number }>();

  consume(checks: readonly LimitCheck[], now: number): LimitResult {
    return decideLimits(checks, now, true, this.#cells(checks));
  }

  peek(checks: readonly LimitCheck[], now: number): LimitResult {
    return decideLimits(checks, now, false, this.#cells(checks));
  }

  /** Drops state that no longer limits anything; call periodically. */
  sweep(now: number): void {
    for (const [counter, tat] of this.#tats) if (tat <= now) this.#tats.delete(counter);
    for (const [counter, quota] of this.#quotas) if (quota.periodEnd <= now) this.#quotas.delete(counter);
  }

  #cells(checks: readonly LimitCheck[]): LimitCells {
    return {
      tat: (i) => this.#tats.get(checks[i]!.counter),
      quota: (i) => this.#quotas.get(checks[i]!.counter),
      setTat: (i, tat) => void this.#tats.set(checks[i]!.counter, tat),
      setQuota: (i, used, periodEnd) => {
        const quota = this.#quotas.get(checks[i]!.counter);
        if (quota) ((quota.used = used), (quota.periodEnd = periodEnd));
        else this.#quotas.set(checks[i]!.counter, { used, periodEnd });
      },
    };
  }
}
