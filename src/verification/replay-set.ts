import type { WhenUnavailable } from '../limits/port.ts';
import type { SharedTable } from '../limits/shared-table.ts';
import { MapSlotState, SharedSlotState, type SlotState } from '../limits/slot-state.ts';

/** What recording a one-time id answers: first sight (now recorded), seen before, or not checkable now. */
export type ReplayVerdict = 'first' | 'replayed' | 'unavailable';

/**
 * The replay set of one-time ids (DPoP proof `jti`s, RFC 9449 §11.1): seen-and-record is one atomic
 * step, so two requests carrying the same id at once cannot both be first. In memory for one node
 * (below); in Redis for several (redis-replay-set.ts).
 */
export interface ReplaySet {
  /**
   * Records `id` until `forgetAt` (ms) unless it is already recorded. `whenUnavailable`: what a shared
   * set does when it cannot answer (the API's setting; default the deployment's); memory ignores it.
   */
  firstUse(id: string, now: number, forgetAt: number, whenUnavailable?: WhenUnavailable): ReplayVerdict | Promise<ReplayVerdict>;
  /** Forgets ids held in process memory whose time has come. */
  sweep(now: number): void;
}

/**
 * In this process: a Map, or the table gateway workers share (slot-state.ts), so a proof used at one
 * worker is refused at all; a shared table with no room answers `unavailable` rather than forget.
 */
export class MemoryReplaySet implements ReplaySet {
  readonly #seen: SlotState;

  constructor(seen: SlotState = new MapSlotState()) {
    this.#seen = seen;
  }

  firstUse(id: string, now: number, forgetAt: number): ReplayVerdict {
    let replayed = false;
    const recorded = this.#seen.update(id, now, (stored) => {
      if (stored !== undefined) return void (replayed = true);
      return forgetAt;
    });
    return replayed ? 'replayed' : recorded ? 'first' : 'unavailable';
  }

  /**
   * Keeps `id` recorded until at least `until`: a mark every thread sharing this set reads
   * (FallbackReplaySet). False when it could not be (a shared table with no room).
   */
  holdUntil(id: string, now: number, until: number): boolean {
    return this.#seen.update(id, now, (stored) => (stored === undefined || stored < until ? until : undefined));
  }

  /** Whether `id` is recorded now, without recording it. */
  holds(id: string, now: number): boolean {
    let held = false;
    this.#seen.update(id, now, (stored) => void (held = stored !== undefined));
    return held;
  }

  sweep(now: number): void {
    this.#seen.sweep(now);
  }
}

/** The replay set every gateway thread shares: in their shared table, under `dpop:`. */
export function sharedReplaySet(table: SharedTable): MemoryReplaySet {
  return new MemoryReplaySet(new SharedSlotState(table, 'dpop:'));
}
