import { decideLimits, type LimitCells } from './limit-decision.ts';
import type { LimitCheck, LimitResult, Limiter } from './port.ts';

/**
 * Exact on one thread: JavaScript runs each consume() to completion, so check-then-update is atomic.
 *
 * State is kept by counter, then by subject: keys with equal settings share their checks, so a few
 * counter names (`rl:per-second`, `q`) each lead to a Map by subject, the key's own string, whose
 * hash the string keeps. No name is built per request or per key (a fresh `subject+counter` string
 * per request costs a hash of it, about 0.9 µs per counter on 100k keys; one kept per key, 100 bytes).
 */
export class MemoryLimiter implements Limiter {
  readonly #tats = new Map<string, Map<string, number>>();
  /**
   * Quota counts by period (its end), counter and subject: a count is a small integer in the Map
   * itself, with no object per key to say which period it is for (issue 14: 100k hot keys each hold one).
   */
  readonly #quotas = new Map<number, Map<string, Map<string, number>>>();
  /** The subject of the call under way, for #cells (one object for every call: none is made per request). */
  #subject = '';

  readonly #cells: LimitCells = {
    tat: (_i, check) => this.#tats.get(check.counter)?.get(this.#subject),
    quota: (_i, check) => this.#quotas.get(check.window.end)?.get(check.counter)?.get(this.#subject),
    setTat: (_i, check, tat) => void inner(this.#tats, check.counter).set(this.#subject, tat),
    setQuota: (_i, check, used, periodEnd) => void inner(inner(this.#quotas, periodEnd), check.counter).set(this.#subject, used),
  };

  consume(subject: string, checks: readonly LimitCheck[], now: number): LimitResult {
    this.#subject = subject;
    return decideLimits(checks, now, true, this.#cells);
  }

  peek(subject: string, checks: readonly LimitCheck[], now: number): LimitResult {
    this.#subject = subject;
    return decideLimits(checks, now, false, this.#cells);
  }

  /** Drops state that no longer limits anything; call periodically. */
  sweep(now: number): void {
    for (const [counter, bySubject] of this.#tats) {
      for (const [subject, tat] of bySubject) if (tat <= now) bySubject.delete(subject);
      if (bySubject.size === 0) this.#tats.delete(counter);
    }
    for (const periodEnd of this.#quotas.keys()) if (periodEnd <= now) this.#quotas.delete(periodEnd);
  }
}

/** The Map under `key`, made when there is none. */
function inner<K, V>(outer: Map<K, Map<string, V>>, key: K): Map<string, V> {
  let found = outer.get(key);
  if (found === undefined) outer.set(key, (found = new Map()));
  return found;
}
