import { decideLimits, type LimitCells } from './limit-decision.ts';
import type { LimitCheck, LimitResult, Limiter } from './port.ts';
import { SharedTable } from './shared-table.ts';

/**
 * The limiter for a gateway on several threads (gateway.workers > 1): the same decision as
 * MemoryLimiter (limit-decision.ts), over a SharedTable every worker maps, so a limit of N admits N
 * across all of them. One call locks the stripes of its counters (ascending), reads, decides and
 * writes, then unlocks: all-or-nothing across threads as MemoryLimiter is within one.
 *
 * A rate counter's entry is its TAT (expiring at the TAT: a bucket that has refilled is no state); a
 * quota's is its count, expiring at its period's end. When a new counter finds no room (its stripe is
 * full of live counters), the call is refused as rate limited for a second and the overflow is
 * counted: admitting it uncounted would let a limit leak; the sweeper reports overflows to readiness.
 */
export class SharedMemoryLimiter implements Limiter {
  readonly table: SharedTable;

  constructor(table: SharedTable) {
    this.table = table;
  }

  /** A limiter on a new table of `entries` counters (see SharedTable for memory and stripes). */
  static create(entries: number): SharedMemoryLimiter {
    return new SharedMemoryLimiter(new SharedTable(SharedTable.allocate(entries)));
  }

  consume(subject: string, checks: readonly LimitCheck[], now: number): LimitResult {
    return this.#decide(subject, checks, now, true);
  }

  peek(subject: string, checks: readonly LimitCheck[], now: number): LimitResult {
    return this.#decide(subject, checks, now, false);
  }

  /** Drops counters that no longer limit anything (as MemoryLimiter.sweep), for the whole process. */
  sweep(now: number): void {
    this.table.compact(now);
  }

  #decide(subject: string, checks: readonly LimitCheck[], now: number, commit: boolean): LimitResult {
    const table = this.table;
    const names = checks.map((check) => table.name(check.counter, subject));
    const stripes = table.stripesOf(names);
    table.lock(stripes);
    try {
      // Consuming needs a slot per counter before anything is decided, so that a full table refuses
      // before any limit is touched; a slot taken here holds an expired zero, which reads as absent.
      const slots: number[] = [];
      for (const name of names) slots.push(commit ? table.claim(name, now, slots) : table.find(name));
      if (commit && slots.includes(-1)) {
        table.noteOverflow();
        return { allowed: false, deniedBy: 'rate', retryAfterMs: TABLE_FULL_RETRY_MS, states: [] };
      }
      return decideLimits(checks, now, commit, cells(table, slots, now));
    } finally {
      table.unlock(stripes);
    }
  }
}

const TABLE_FULL_RETRY_MS = 1000;

function cells(table: SharedTable, slots: readonly number[], now: number): LimitCells {
  // An expired entry is the same as none: a refilled bucket, or a quota of an ended period.
  const live = (i: number) => {
    const slot = slots[i]!;
    return slot !== -1 && table.expiresAt(slot) > now ? slot : -1;
  };
  return {
    tat: (i) => {
      const slot = live(i);
      return slot === -1 ? undefined : table.expiresAt(slot);
    },
    // A count is kept until its period's end: one that expires at another time is another period's.
    quota: (i, check) => {
      const slot = live(i);
      return slot === -1 || table.expiresAt(slot) !== check.window.end ? undefined : table.value(slot);
    },
    setTat: (i, _check, tat) => table.set(slots[i]!, 0, tat),
    setQuota: (i, _check, used, periodEnd) => table.set(slots[i]!, used, periodEnd),
  };
}
