import type { CompiledLimit } from '../../domain/auth-requirements.ts';
import { andThen } from '../../domain/maybe-async.ts';
import { periodWindow } from '../../domain/quota-period.ts';
import type { LimitCheck, Limiter, LimitResult } from '../../limits/port.ts';
import type { RoutedExchange, RoutedStage, StageResult } from '../exchange.ts';
import { rateLimitHeaders } from '../rate-limit-headers.ts';

/** Where quota use counted per app or user is kept: batched writes, and the use so far for a new period. */
export interface CounterUsage {
  count(counter: string, period: string): void;
  used(counter: string, period: string): Promise<number>;
}

/**
 * The API's and route's own limits, counted per app, per user or per both, beside any limits on the
 * key: rate limits (GCRA) and calendar quotas. The app is the key's app, else the app of an exchanged
 * token's parent key, else the token's client; the user is the token's subject. Refused with 429 and the same
 * RateLimit fields as key limits. A quota's use so far is read from the store once per counter and
 * period (then counted in memory and flushed in batches), so the request path never waits on a write.
 */
export function identityLimitsStage(limiter: Limiter, usage: CounterUsage): RoutedStage {
  const seeded = new Map<string, number>();
  const seeding = new Map<string, Promise<void>>();

  const decide = (result: LimitResult, exchange: RoutedExchange, uses: readonly (readonly [string, string])[]): StageResult => {
    const states = [...(exchange.verification?.limits ?? []), ...(exchange.parentKey?.limits ?? []), ...result.states];
    exchange.rateLimitHeaders = rateLimitHeaders(states);
    if (!result.allowed)
      return {
        code: result.deniedBy === 'quota' ? 'QUOTA_EXCEEDED' : 'RATE_LIMITED',
        detail: 'a limit of this API is used up for now',
        limits: states,
        retryAfterMs: result.retryAfterMs,
      };
    for (const [counter, period] of uses) usage.count(counter, period);
    return undefined;
  };

  // One subject for all of an API's per-app and per-user counters: one call may check both kinds.
  const consume = (exchange: RoutedExchange, checks: LimitCheck[], uses: readonly (readonly [string, string])[]): StageResult | Promise<StageResult> =>
    andThen(limiter.consume(`api:${exchange.route.api.id}`, checks, exchange.now, exchange.route.api.whenRedisUnavailable), decide, exchange, uses);

  return (exchange) => {
    const limits = exchange.requirement.rateLimits;
    if (limits.length === 0) return undefined;
    const checks: LimitCheck[] = [];
    const uses: (readonly [string, string])[] = [];
    const missing: Promise<void>[] = [];
    for (const l of limits) {
      const who = identity(exchange, l);
      // Settings that cannot name the identity are refused when saved; nothing to count here.
      if (who === null) continue;
      const counter = `api:${exchange.route.api.id}:${l.name}:${who}`;
      if (l.period === null) {
        checks.push({ kind: 'rate', counter, name: l.name, limit: l.limit, windowMs: l.windowMs });
        continue;
      }
      const window = periodWindow(l.period, exchange.now);
      const slot = `${counter}|${window.id}`;
      const seed = seeded.get(slot);
      if (seed === undefined) {
        let loading = seeding.get(slot);
        if (!loading) {
          loading = usage
            .used(counter, window.id)
            .then((used) => void seeded.set(slot, used))
            .finally(() => seeding.delete(slot));
          seeding.set(slot, loading);
        }
        missing.push(loading);
      }
      checks.push({ kind: 'quota', counter: slot, name: l.name, limit: l.limit, window, seed: seed ?? 0 });
      uses.push([counter, window.id]);
    }
    if (checks.length === 0) return undefined;
    if (missing.length === 0) return consume(exchange, checks, uses);
    // First sight of a counter this period: read its use so far, then check with it as the seed.
    return Promise.all(missing).then(() =>
      consume(
        exchange,
        checks.map((c) => (c.kind === 'quota' ? { ...c, seed: seeded.get(c.counter) ?? 0 } : c)),
        uses,
      ),
    );
  };
}

function identity(exchange: RoutedExchange, limit: CompiledLimit): string | null {
  const claims = exchange.tokenVerification?.claims ?? null;
  // An exchanged token's app is its parent key's (checked by the parent-key stage); an `app_id` claim
  // from any other issuer names nothing of ours, so it is not believed.
  const app = exchange.verification?.appId ?? exchange.parentKey?.appId ?? claims?.client_id ?? null;
  const user = claims?.sub ?? null;
  if (limit.by === 'app') return app === null ? null : `a:${app}`;
  if (limit.by === 'user') return user === null ? null : `u:${user}`;
  return app === null || user === null ? null : `a:${app}|u:${user}`;
}
