import type { CompiledLimit } from '../domain/auth-requirements.ts';
import type { Api } from '../domain/entities.ts';
import { andThen } from '../domain/maybe-async.ts';
import { periodWindow, type PeriodWindow } from '../domain/quota-period.ts';
import type { LimitCheck, Limiter, LimitResult } from './port.ts';

/** Where quota use counted per app or user is kept: batched writes, and the use so far for a new period. */
export interface CounterUsage {
  count(counter: string, period: string): void;
  used(counter: string, period: string): Promise<number>;
}

type Uses = readonly (readonly [counter: string, period: string])[];

/**
 * An API's own limits (its `auth.rateLimits`, or a route rule's), counted per app, per user or per
 * both, beside any limits on the key: rate limits (GCRA) and calendar quotas. The gateway's
 * identity-limits stage and the verify endpoint both decide with this, so they agree. A quota's use so
 * far is read from the store once per counter and period (then counted in memory and flushed in
 * batches), so the request path never waits on a write.
 */
export class IdentityLimits {
  readonly #limiter: Limiter;
  readonly #usage: CounterUsage;
  /** Each counter's use so far in a period (by slot), until the period ends: `end` says when it is forgotten. */
  readonly #seeded = new Map<string, { used: number; end: number }>();
  readonly #seeding = new Map<string, Promise<void>>();
  /** The earliest end of a period remembered in #seeded: then the ended ones are forgotten. */
  #forgetAt = Infinity;

  constructor(limiter: Limiter, usage: CounterUsage) {
    this.#limiter = limiter;
    this.#usage = usage;
  }

  /**
   * The limits that name this caller (`app`, `user`: null when unknown), consumed (a request) or only
   * checked (`consume: false`); null when none applies. A consumed request's quota uses are counted.
   */
  check(
    api: Pick<Api, 'id' | 'whenRedisUnavailable'>,
    limits: readonly CompiledLimit[],
    app: string | null,
    user: string | null,
    now: number,
    consume = true,
  ): LimitResult | Promise<LimitResult> | null {
    // A period's seeds are read by no request after it ends: kept, one per counter (per user) per day
    // they would grow for as long as the process runs.
    if (now >= this.#forgetAt) this.#forgetEnded(now);
    const checks: LimitCheck[] = [];
    const uses: (readonly [string, string])[] = [];
    const missing: Promise<void>[] = [];
    for (const l of limits) {
      const who = identity(l, app, user);
      // Settings that cannot name the identity are refused when saved; nothing to count here.
      if (who === null) continue;
      const counter = `api:${api.id}:${l.name}:${who}`;
      if (l.period === null) {
        checks.push({ kind: 'rate', counter, name: l.name, limit: l.limit, windowMs: l.windowMs });
        continue;
      }
      const window = periodWindow(l.period, now);
      const slot = `${counter}|${window.id}`;
      const seed = this.#seeded.get(slot)?.used;
      if (seed === undefined) missing.push(this.#seed(slot, counter, window));
      checks.push({ kind: 'quota', counter: slot, name: l.name, limit: l.limit, window, seed: seed ?? 0 });
      uses.push([counter, window.id]);
    }
    if (checks.length === 0) return null;
    if (missing.length === 0) return this.#decide(api, checks, uses, now, consume);
    // First sight of a counter this period: read its use so far, then check with it as the seed.
    return Promise.all(missing).then(() =>
      this.#decide(
        api,
        checks.map((c) => (c.kind === 'quota' ? { ...c, seed: this.#seeded.get(c.counter)?.used ?? 0 } : c)),
        uses,
        now,
        consume,
      ),
    );
  }

  /** Counters whose use so far is remembered (for tests): those of periods not yet ended. */
  get remembered(): number {
    return this.#seeded.size;
  }

  #seed(slot: string, counter: string, window: PeriodWindow): Promise<void> {
    let loading = this.#seeding.get(slot);
    if (!loading) {
      loading = this.#usage
        .used(counter, window.id)
        .then((used) => {
          this.#seeded.set(slot, { used, end: window.end });
          this.#forgetAt = Math.min(this.#forgetAt, window.end);
        })
        .finally(() => this.#seeding.delete(slot));
      this.#seeding.set(slot, loading);
    }
    return loading;
  }

  #forgetEnded(now: number): void {
    let next = Infinity;
    for (const [slot, { end }] of this.#seeded) {
      if (end <= now) this.#seeded.delete(slot);
      else next = Math.min(next, end);
    }
    this.#forgetAt = next;
  }

  // One subject for all of an API's per-app and per-user counters: one call may check both kinds.
  #decide(api: Pick<Api, 'id' | 'whenRedisUnavailable'>, checks: LimitCheck[], uses: Uses, now: number, consume: boolean): LimitResult | Promise<LimitResult> {
    if (!consume) return this.#limiter.peek(`api:${api.id}`, checks, now, api.whenRedisUnavailable);
    return andThen(this.#limiter.consume(`api:${api.id}`, checks, now, api.whenRedisUnavailable), this.#counted, uses);
  }

  readonly #counted = (result: LimitResult, uses: Uses): LimitResult => {
    if (result.allowed) for (const [counter, period] of uses) this.#usage.count(counter, period);
    return result;
  };
}

function identity(limit: CompiledLimit, app: string | null, user: string | null): string | null {
  if (limit.by === 'app') return app === null ? null : `a:${app}`;
  if (limit.by === 'user') return user === null ? null : `u:${user}`;
  return app === null || user === null ? null : `a:${app}|u:${user}`;
}
