import type { SharedTable } from './shared-table.ts';

/**
 * One number per named slot with an expiry (a GCRA TAT, a replay entry's forget-at time), changed by
 * read-modify-write: in a Map on one thread, or in a SharedTable every gateway worker maps, where the
 * slot's stripe is locked for the whole change so two workers never both read the old value.
 */
export interface SlotState {
  /**
   * Runs `change` with the slot's value (undefined when absent or expired at `now`); what it returns
   * is stored (a number, which is also the entry's expiry), kept (undefined) or cleared (null).
   * Answers false only when a value could not be stored for want of room (shared table full).
   */
  update(slot: string, now: number, change: (value: number | undefined) => number | null | undefined): boolean;
  /** Forgets values that expired at or before `now`. */
  sweep(now: number): void;
}

export class MapSlotState implements SlotState {
  readonly #values = new Map<string, number>();
  readonly #maxSlots: number;

  /**
   * `maxSlots`: at most this many slots, the one changed longest ago forgotten to make room for a new
   * one (for a Map nobody sweeps often enough to bound it: FailureThrottle's overflow). Unbounded by default.
   */
  constructor(maxSlots = Infinity) {
    this.#maxSlots = maxSlots;
  }

  update(slot: string, now: number, change: (value: number | undefined) => number | null | undefined): boolean {
    const values = this.#values;
    const stored = values.get(slot);
    const next = change(stored === undefined || stored <= now ? undefined : stored);
    if (next === null) values.delete(slot);
    else if (next !== undefined) {
      if (this.#maxSlots !== Infinity) {
        // Kept in the order of their last change (a Map iterates in insertion order): the first is the stalest.
        if (values.has(slot)) values.delete(slot);
        else if (values.size >= this.#maxSlots) values.delete(values.keys().next().value!);
      }
      values.set(slot, next);
    }
    return true;
  }

  sweep(now: number): void {
    for (const [slot, value] of this.#values) if (value <= now) this.#values.delete(slot);
  }
}

/** SlotState over a SharedTable; `prefix` keeps its names apart from other users of the table. */
export class SharedSlotState implements SlotState {
  readonly #table: SharedTable;
  readonly #prefix: string;

  constructor(table: SharedTable, prefix: string) {
    this.#table = table;
    this.#prefix = prefix;
  }

  update(slot: string, now: number, change: (value: number | undefined) => number | null | undefined): boolean {
    const table = this.#table;
    const name = table.name(this.#prefix + slot);
    const stripes = [name.stripe];
    table.lock(stripes);
    try {
      const found = table.find(name);
      const stored = found === -1 || table.expiresAt(found) <= now ? undefined : table.expiresAt(found);
      const next = change(stored);
      if (next === null) {
        if (found !== -1) table.set(found, 0, 0);
      } else if (next !== undefined) {
        const at = found === -1 ? table.claim(name, now) : found;
        if (at === -1) {
          table.noteOverflow();
          return false;
        }
        table.set(at, 0, next);
      }
      return true;
    } finally {
      table.unlock(stripes);
    }
  }

  /** The table is compacted as a whole by its owner (the limiter's sweep). */
  sweep(): void {}
}
