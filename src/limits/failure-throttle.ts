import { gcra, gcraPeek } from '../domain/gcra.ts';
import type { RateLimitRule } from '../domain/entities.ts';
import { addressSlot } from '../domain/ip-allowlist.ts';
import type { Throttle, ThrottleFactory } from './port.ts';
import type { SharedTable } from './shared-table.ts';
import { MapSlotState, SharedSlotState, type SlotState } from './slot-state.ts';

/**
 * Slows down guessing: each failed credential check costs its slot (a client address, an account
 * name, an (account, address) pair, a device) one token of a GCRA bucket; a slot with no tokens left
 * is refused before its credential is even looked at, and a refused attempt costs nothing more. A
 * rule of `limit` per `windowMs` allows a burst of `limit`, then one failure every windowMs/limit.
 * In memory, per process: the TATs live in a Map, or in a shared table when the gateway runs on
 * several worker threads (slot-state.ts), so an address's failures count across all of them. Several
 * nodes share theirs through Redis instead (redis/redis-throttle.ts), with the same arithmetic.
 */
export class FailureThrottle implements Throttle {
  readonly #rule: RateLimitRule;
  readonly #tats: SlotState;
  readonly #slotOf: (key: string) => string;

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
    let blocked = 0;
    this.#tats.update(this.#slotOf(key), now, (tat) => {
      if (tat !== undefined && gcraPeek(this.#rule, tat, now).remaining === 0) blocked = gcra(this.#rule, tat, now).resetMs;
      return undefined;
    });
    return blocked;
  }

  recordFailure(key: string, now: number): void {
    // A shared table with no room cannot count this failure: the address is then only as throttled as
    // the limiter's overflow (reported to readiness) makes it.
    this.#tats.update(this.#slotOf(key), now, (tat) => {
      const outcome = gcra(this.#rule, tat, now);
      return outcome.allowed ? outcome.tat : undefined;
    });
  }

  /** Clears a slot, after its owner proved the secret it was failing on. */
  forget(key: string): void {
    this.#tats.update(this.#slotOf(key), 0, () => null);
  }

  sweep(now: number): void {
    this.#tats.sweep(now);
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
