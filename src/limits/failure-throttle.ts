import { gcra, gcraPeek } from '../domain/gcra.ts';
import type { RateLimitRule } from '../domain/entities.ts';
import { addressSlot } from '../domain/ip-allowlist.ts';

/**
 * Slows down guessing: each failed credential check costs its slot (a client address, an account
 * name, an (account, address) pair, a device) one token of a GCRA bucket; a slot with no tokens left
 * is refused before its credential is even looked at, and a refused attempt costs nothing more. A
 * rule of `limit` per `windowMs` allows a burst of `limit`, then one failure every windowMs/limit.
 * In memory, per node.
 */
export class FailureThrottle {
  readonly #rule: RateLimitRule;
  readonly #tats = new Map<string, number>();
  readonly #slotOf: (key: string) => string;

  constructor(limit: number, windowMs: number, slotOf: (key: string) => string = (key) => key) {
    if (!(limit >= 1) || !(windowMs > 0)) throw new Error('FailureThrottle needs limit >= 1 and windowMs > 0');
    this.#rule = { name: 'auth-failures', limit, windowMs };
    this.#slotOf = slotOf;
  }

  /** A throttle keyed by client address: an IPv4 address, or an IPv6 /64 (see addressSlot). */
  static perAddress(limit: number, windowMs: number): FailureThrottle {
    return new FailureThrottle(limit, windowMs, addressSlot);
  }

  /** Milliseconds until this slot may try again, or 0 when it may try now. */
  blockedFor(key: string, now: number): number {
    const tat = this.#tats.get(this.#slotOf(key));
    if (tat === undefined) return 0;
    const peek = gcraPeek(this.#rule, tat, now);
    return peek.remaining > 0 ? 0 : gcra(this.#rule, tat, now).resetMs;
  }

  recordFailure(key: string, now: number): void {
    const slot = this.#slotOf(key);
    const outcome = gcra(this.#rule, this.#tats.get(slot), now);
    if (outcome.allowed) this.#tats.set(slot, outcome.tat);
  }

  /** Clears a slot, after its owner proved the secret it was failing on. */
  forget(key: string): void {
    this.#tats.delete(this.#slotOf(key));
  }

  sweep(now: number): void {
    for (const [slot, tat] of this.#tats) if (tat <= now) this.#tats.delete(slot);
  }
}
