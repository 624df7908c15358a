import { PROBLEMS } from '../../domain/codes.ts';
import type { FailureThrottle } from '../../limits/failure-throttle.ts';
import type { KeyVerifier, Verification } from '../../verification/key-verifier.ts';
import type { Exchange, Stage, StageResult } from '../exchange.ts';
import { rateLimitHeaders } from '../rate-limit-headers.ts';
import { clientCertificateThumbprint } from './client-certificate.ts';
import { requestOrigin } from './cors.ts';

const PARENT = 'the API key this token was exchanged for (its parent key)';
const DETAILS: Record<string, string> = {
  NOT_FOUND: `${PARENT} no longer exists`,
  DISABLED: `${PARENT} is disabled`,
  EXPIRED: `${PARENT} has expired (or its rotation grace period has ended)`,
  REVOKED: `${PARENT} has been revoked`,
  FORBIDDEN: `${PARENT} may not be used for this API, method, path, address or client certificate`,
  INSUFFICIENT_SCOPE: `${PARENT} lacks a scope the route requires`,
  RATE_LIMITED: `rate limit of ${PARENT} exceeded`,
  QUOTA_EXCEEDED: `quota of ${PARENT} exhausted for this period`,
};

/**
 * A token that Gatehouse's own issuer exchanged for an API key (RFC 8693; it names the key in
 * `key_id`) is a child of that key: it may do no more than the key, for no longer, on the key's budget.
 * So every request with it checks the parent key again, by id, through the shared KeyVerifier (its
 * cache and change-bus invalidation: no store read per request) with this request's facts: revoked,
 * disabled, deleted, expired or past its rotation grace period; API, method and path; IP allowlist;
 * certificate binding; the route's scopes; then the key's own rate limits and quota, on the counters
 * the key itself uses. `key_id` from any other issuer names no key of ours and is ignored.
 */
export function parentKeyStage(verifier: KeyVerifier, ownIssuer: () => string | null, throttle: FailureThrottle): Stage {
  const decide = (exchange: Exchange, v: Verification): StageResult => {
    exchange.parentKey = v;
    if (v.valid) {
      const headers = rateLimitHeaders([...(exchange.verification?.limits ?? []), ...v.limits]);
      if (headers) exchange.rateLimitHeaders = headers;
      return undefined;
    }
    if (PROBLEMS[v.code as keyof typeof PROBLEMS]?.status === 401) throttle.recordFailure(exchange.ip, exchange.now);
    const code = v.code === 'VALID' ? 'INTERNAL' : v.code;
    const scope = code === 'INSUFFICIENT_SCOPE' ? { scope: exchange.requirement!.scopes } : {};
    return { code, detail: DETAILS[code] ?? `${PARENT} was refused: ${code}`, limits: v.limits, ...scope, ...(v.retryAfterMs > 0 ? { retryAfterMs: v.retryAfterMs } : {}) };
  };
  return (exchange) => {
    const claims = exchange.tokenVerification?.claims;
    if (claims?.key_id === undefined || claims.iss !== ownIssuer()) return undefined;
    if (typeof claims.key_id !== 'string') return { code: 'TOKEN_INVALID', detail: 'the access token names its parent key wrongly' };
    // The parent key itself came with this request (X-API-Key) and was checked and counted once already.
    if (exchange.verification?.valid && exchange.verification.keyId === claims.key_id) return undefined;
    const requirement = exchange.requirement!;
    const v = verifier.verifyById(claims.key_id, {
      apiId: exchange.route!.api.id,
      method: exchange.req.method,
      path: exchange.apiPath,
      ip: exchange.ip,
      // The token stands in for the key: the key must still hold what the route asks of the token.
      requiredScopes: requirement.scopes,
      certificateThumbprint: exchange.scheme === 'https' ? clientCertificateThumbprint(exchange.req.socket) : null,
      publishableRoute: requirement.type === 'publishable',
      origin: requestOrigin(exchange.req.headers),
    });
    return v instanceof Promise ? v.then((resolved) => decide(exchange, resolved)) : decide(exchange, v);
  };
}
