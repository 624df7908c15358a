import { gcra, gcraPeek } from '../domain/gcra.ts';
import type { RateLimitRule } from '../domain/entities.ts';

/**
 * Slows down key guessing: each failed credential check costs the client IP one token; an IP with no
 * tokens left is refused before its credential is even looked at. In memory, per node.
 */
export class FailureThrottle {
  readonly #rule: RateLimitRule;
  readonly #tats = new Map<string, number>();

  constructor(limit: number, windowMs: number) {
    if (!(limit >= 1) || !(windowMs > 0)) throw new Error('FailureThrottle needs limit >= 1 and windowMs > 0');
    this.#rule = { name: 'auth-failures', limit, windowMs };
  }

  /** Milliseconds until this IP may try again, or 0 when it may try now. */
  blockedFor(ip: string, now: number): number {
    const tat = this.#tats.get(ip);
    if (tat === undefined) return 0;
    const peek = gcraPeek(this.#rule, tat, now);
    return peek.remaining > 0 ? 0 : gcra(this.#rule, tat, now).resetMs;
  }

  recordFailure(ip: string, now: number): void {
    const outcome = gcra(this.#rule, this.#tats.get(ip), now);
    if (outcome.allowed) this.#tats.set(ip, outcome.tat);
  }

  sweep(now: number): void {
    for (const [ip, tat] of this.#tats) if (tat <= now) this.#tats.delete(ip);
  }
}
