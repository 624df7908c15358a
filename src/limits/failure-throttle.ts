import { gcra, gcraPeek } from '../domain/gcra.ts';
import type { RateLimitRule } from '../domain/entities.ts';
import { addressSlot } from '../domain/ip-allowlist.ts';
import type { Throttle, ThrottleFactory } from './port.ts';
import type { SharedTable } from './shared-table.ts';
import { MapSlotState, SharedSlotState, type SlotState } from './slot-state.ts';

/** How many slots a FailureThrottle counts in its own memory while the shared table has no room (#overflow). */
export const OVERFLOW_SLOTS = 65_536;

/**
 * Slows down guessing: each failed credential check costs its slot (a client address, an account
 * name, an (account, address) pair, a device) one token of a GCRA bucket; a slot with no tokens left
 * is refused before its credential is even looked at, and a refused attempt costs nothing more. A
 * rule of `limit` per `windowMs` allows a burst of `limit`, then one failure every windowMs/limit.
 * In memory, per process: the TATs live in a Map, or in a shared table when the gateway runs on
 * several worker threads (slot-state.ts), so an address's failures count across all of them. Several
 * nodes share theirs through Redis instead (redis/redis-throttle.ts), with the same arithmetic.
 *
 * A failure the shared table has no room for (a stripe full of live entries: quotas, other limits) is
 * counted in this thread's own Map instead, so the slot is still throttled, at worst `limit` per
 * window at each thread rather than in all. Not refused: then whoever fills the table (an attacker
 * failing from many addresses, or a month's quota counters) would lock every address out; not
 * evicting: the table's other entries are exact limits and DPoP replay marks.
 */
export class FailureThrottle implements Throttle {
  readonly #rule: RateLimitRule;
  readonly #tats: SlotState;
  readonly #slotOf: (key: string) => string;
  /**
   * Failures the shared state had no room for (null until one); workers never call sweep, so it sweeps
   * itself. At most OVERFLOW_SLOTS slots: whoever fails from ever new addresses while the table is full
   * must not grow it without end. The stalest is forgotten first, which gives a guesser nothing it
   * lacked: to push its own slot out it must fail from that many other addresses, each a fresh start anyway.
   */
  #overflow: MapSlotState | null = null;
  #overflowSweepAt = 0;

  constructor(limit: number, windowMs: number, slotOf: (key: string) => string = (key) => key, state: SlotState = new MapSlotState()) {
    if (!(limit >= 1) || !(windowMs > 0)) throw new Error('FailureThrottle needs limit >= 1 and windowMs > 0');
    this.#rule = { name: 'auth-failures', limit, windowMs };
    this.#slotOf = slotOf;
    this.#tats = state;
  }

  /** A throttle keyed by client address: an IPv4 address, or an IPv6 /64 (see addressSlot). */
  static perAddress(limit: number, windowMs: number, state?: SlotState): FailureThrottle {
    return new FailureThrottle(limit, windowMs, addressSlot, state);
  }

  /** Milliseconds until this slot may try again, or 0 when it may try now. */
  blockedFor(key: string, now: number): number {
    const slot = this.#slotOf(key);
    let blocked = 0;
    const peek = (tat: number | undefined): undefined => {
      if (tat !== undefined && gcraPeek(this.#rule, tat, now).remaining === 0) blocked = Math.max(blocked, gcra(this.#rule, tat, now).resetMs);
    };
    this.#tats.update(slot, now, peek);
    this.#overflow?.update(slot, now, peek);
    return blocked;
  }

  recordFailure(key: string, now: number): void {
    const slot = this.#slotOf(key);
    const charge = (tat: number | undefined): number | undefined => {
      const outcome = gcra(this.#rule, tat, now);
      return outcome.allowed ? outcome.tat : undefined;
    };
    if (this.#tats.update(slot, now, charge)) return;
    // No room in the shared table (counted there as an overflow, reported to readiness).
    if (now >= this.#overflowSweepAt) {
      this.#overflow?.sweep(now);
      this.#overflowSweepAt = now + this.#rule.windowMs;
    }
    (this.#overflow ??= new MapSlotState(OVERFLOW_SLOTS)).update(slot, now, charge);
  }

  /** Clears a slot, after its owner proved the secret it was failing on. */
  forget(key: string): void {
    const slot = this.#slotOf(key);
    this.#tats.update(slot, 0, () => null);
    this.#overflow?.update(slot, 0, () => null);
  }

  sweep(now: number): void {
    this.#tats.sweep(now);
    this.#overflow?.sweep(now);
  }
}

/** Throttles in this process's memory (a Map each, or the gateway threads' shared table: sharedThrottles). */
export function memoryThrottles(state?: (name: string) => SlotState | undefined): ThrottleFactory {
  return (rule) => {
    const slots = state?.(rule.name);
    return rule.perAddress ? FailureThrottle.perAddress(rule.limit, rule.windowMs, slots) : new FailureThrottle(rule.limit, rule.windowMs, undefined, slots);
  };
}

/**
 * Throttles every gateway thread counts in together: in their shared table, under `auth-failure:<name>:`;
 * those not named in `only` (the main thread's own: admin API, authorization server) in a Map each.
 */
export function sharedThrottles(table: SharedTable, only?: readonly string[]): ThrottleFactory {
  return memoryThrottles((name) => (only === undefined || only.includes(name) ? new SharedSlotState(table, `auth-failure:${name}:`) : undefined));
}
