import type { CompiledLimit } from '../../domain/auth-requirements.ts';
import type { LimitCheck, Limiter, LimitResult } from '../../limits/port.ts';
import type { Exchange, Stage, StageResult } from '../exchange.ts';
import { rateLimitHeaders } from '../rate-limit-headers.ts';

/**
 * The API's and route's own rate limits, counted per app, per user or per both, beside any limits on
 * the key. The app is the key's app, else the app an exchanged token names, else the token's client;
 * the user is the token's subject. Refused with 429 and the same RateLimit fields as key limits.
 */
export function identityLimitsStage(limiter: Limiter): Stage {
  const decide = (exchange: Exchange, result: LimitResult): StageResult => {
    const states = [...(exchange.verification?.limits ?? []), ...result.states];
    exchange.rateLimitHeaders = rateLimitHeaders(states);
    if (result.allowed) return undefined;
    return { code: 'RATE_LIMITED', detail: 'rate limit exceeded for this API', limits: states, retryAfterMs: result.retryAfterMs };
  };
  return (exchange) => {
    const limits = exchange.requirement?.rateLimits;
    if (!limits || limits.length === 0) return undefined;
    const checks: LimitCheck[] = [];
    for (const l of limits) {
      const who = identity(exchange, l);
      // Settings that cannot name the identity are refused when saved; nothing to count here.
      if (who === null) continue;
      checks.push({ kind: 'rate', counter: `api:${exchange.route!.api.id}:${l.name}:${who}`, name: l.name, limit: l.limit, windowMs: l.windowMs });
    }
    if (checks.length === 0) return undefined;
    const result = limiter.consume(checks, exchange.now);
    return result instanceof Promise ? result.then((r) => decide(exchange, r)) : decide(exchange, result);
  };
}

function identity(exchange: Exchange, limit: CompiledLimit): string | null {
  const claims = exchange.tokenVerification?.claims ?? null;
  const app = exchange.verification?.appId ?? (typeof claims?.app_id === 'string' ? claims.app_id : null) ?? claims?.client_id ?? null;
  const user = claims?.sub ?? null;
  if (limit.by === 'app') return app === null ? null : `a:${app}`;
  if (limit.by === 'user') return user === null ? null : `u:${user}`;
  return app === null || user === null ? null : `a:${app}|u:${user}`;
}
