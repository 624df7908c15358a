import type { CompiledSettings } from '../domain/key-decision.ts';
import type { QuotaPeriod } from '../domain/entities.ts';
import type { PeriodWindow } from '../domain/quota-period.ts';
import type { LimitCheck, QuotaCheck } from '../limits/port.ts';

/** The name of a quota's check by period: one string for every key. */
const QUOTA_CHECK_NAMES: Readonly<Record<QuotaPeriod, string>> = { day: 'quota-day', month: 'quota-month' };
/**
 * A key's quota counter by period, within the key's subject (limits/port.ts). One per period: limiters
 * tell a count's period by its end, and a month's last day ends with the month, so a lineage whose
 * quota changes period that day (a policy change; two keys of the lineage) would read the other's count.
 * A counter found empty starts from the store's count (the seed).
 */
const QUOTA_COUNTERS: Readonly<Record<QuotaPeriod, string>> = { day: 'q', month: 'q:month' };

/**
 * The limit checks of API keys. A check says nothing of its key (the limiter call names the key's
 * subject), so keys with equal settings (SettingsCompiler hands out one object for them) share one
 * array: their rate checks, and in a quota period those with the period's quota check. Only a key
 * whose quota use so far is not zero (its seed: read from the store when the key was cached, after a
 * restart say) has an array of its own, for that period. With 100k hot keys, per-key checks were a
 * third of the key cache (issue 14).
 */
export class KeyLimitChecks {
  readonly #rate = new WeakMap<CompiledSettings, readonly LimitCheck[]>();
  /** Per settings, the checks of the latest quota period asked for, unseeded. */
  readonly #period = new WeakMap<CompiledSettings, readonly LimitCheck[]>();

  /** The rate checks of keys with these settings. */
  rate(settings: CompiledSettings): readonly LimitCheck[] {
    let checks = this.#rate.get(settings);
    if (checks === undefined) {
      checks = settings.rateLimits.map((rule) => ({ kind: 'rate', counter: `rl:${rule.name}`, name: rule.name, limit: rule.limit, windowMs: rule.windowMs }));
      this.#rate.set(settings, checks);
    }
    return checks;
  }

  /** The checks of a key with these settings (which have a quota) in `window`, its quota check last; `seed`: its use so far. */
  forPeriod(settings: CompiledSettings, window: PeriodWindow, seed: number): readonly LimitCheck[] {
    const shared = this.#period.get(settings);
    if (seed === 0 && shared !== undefined && quotaCheckOf(shared).window.id === window.id) return shared;
    const quota = settings.quota!;
    const quotaCheck: QuotaCheck = {
      kind: 'quota',
      counter: QUOTA_COUNTERS[quota.period],
      name: QUOTA_CHECK_NAMES[quota.period],
      limit: quota.limit,
      window,
      seed,
    };
    // concat, not a spread: a spread's array keeps room to grow.
    const checks = this.rate(settings).concat(quotaCheck);
    if (seed === 0) this.#period.set(settings, checks);
    return checks;
  }
}

/** The quota check of checks from KeyLimitChecks.forPeriod. */
export const quotaCheckOf = (checks: readonly LimitCheck[]): QuotaCheck => checks.at(-1) as QuotaCheck;
