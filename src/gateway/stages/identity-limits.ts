import { andThen } from '../../domain/maybe-async.ts';
import { IdentityLimits, type CounterUsage } from '../../limits/identity-limits.ts';
import type { Limiter, LimitResult } from '../../limits/port.ts';
import type { RoutedExchange, RoutedStage, StageResult } from '../exchange.ts';
import { rateLimitHeaders } from '../rate-limit-headers.ts';

/**
 * The API's and route's own limits, counted per app, per user or per both, beside any limits on the
 * key (limits/identity-limits.ts, which the verify endpoint decides with too). The app is the key's
 * app, else the app of an exchanged token's parent key, else the token's client; the user is the
 * token's subject. Refused with 429 and the same RateLimit fields as key limits.
 */
export function identityLimitsStage(limiter: Limiter, usage: CounterUsage): RoutedStage {
  const limits = new IdentityLimits(limiter, usage);
  return (exchange) => {
    const { rateLimits } = exchange.requirement;
    if (rateLimits.length === 0) return undefined;
    const claims = exchange.tokenVerification?.claims ?? null;
    // An exchanged token's app is its parent key's (checked by the parent-key stage); an `app_id` claim
    // from any other issuer names nothing of ours, so it is not believed.
    const app = exchange.verification?.appId ?? exchange.parentKey?.appId ?? claims?.client_id ?? null;
    const result = limits.check(exchange.route.api, rateLimits, app, claims?.sub ?? null, exchange.now);
    return result === null ? undefined : andThen(result, decide, exchange);
  };
}

function decide(result: LimitResult, exchange: RoutedExchange): StageResult {
  const states = [...(exchange.verification?.limits ?? []), ...(exchange.parentKey?.limits ?? []), ...result.states];
  exchange.rateLimitHeaders = rateLimitHeaders(states);
  if (result.allowed) return undefined;
  return {
    code: result.deniedBy === 'quota' ? 'QUOTA_EXCEEDED' : 'RATE_LIMITED',
    detail: 'a limit of this API is used up for now',
    limits: states,
    retryAfterMs: result.retryAfterMs,
  };
}
