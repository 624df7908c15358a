import { isFailedKeyCheck, PARENT_KEY_DENIAL_DETAILS } from '../../domain/codes.ts';
import { andThen } from '../../domain/maybe-async.ts';
import type { Throttle } from '../../limits/port.ts';
import type { KeyChecker, Verification } from '../../verification/port.ts';
import type { RoutedExchange, RoutedStage, StageResult } from '../exchange.ts';
import { rateLimitHeaders } from '../rate-limit-headers.ts';
import { clientCertificateThumbprint } from './client-certificate.ts';
import { requestOrigin } from './cors.ts';
import { chargeFailure } from './throttle-failures.ts';

/**
 * A token that Gatehouse's own issuer exchanged for an API key (RFC 8693; it names the key in
 * `key_id`) is a child of that key: it may do no more than the key, for no longer, on the key's budget.
 * So every request with it checks the parent key again, by id, through the shared KeyVerifier (its
 * cache and change-bus invalidation: no store read per request) with this request's facts: revoked,
 * disabled, deleted, expired or past its rotation grace period; API, method and path; IP allowlist;
 * certificate binding; the route's scopes; then the key's own rate limits and quota, on the counters
 * the key itself uses. `key_id` from any other issuer names no key of ours and is ignored.
 */
export function parentKeyStage(verifier: KeyChecker, ownIssuer: () => string | null, throttle: Throttle): RoutedStage {
  const decide = (v: Verification, exchange: RoutedExchange): StageResult | Promise<StageResult> => {
    if (v.valid) {
      exchange.parentKey = v;
      const headers = rateLimitHeaders([...(exchange.verification?.limits ?? []), ...v.limits]);
      if (headers) exchange.rateLimitHeaders = headers;
      return undefined;
    }
    if (v.keyId !== null) exchange.refusedKey = v;
    const scope = v.code === 'INSUFFICIENT_SCOPE' ? { scope: exchange.requirement.scopes } : {};
    const denial = {
      code: v.code,
      detail: PARENT_KEY_DENIAL_DETAILS[v.code],
      limits: v.limits,
      ...scope,
      ...(v.retryAfterMs > 0 ? { retryAfterMs: v.retryAfterMs } : {}),
    };
    return isFailedKeyCheck(v.code) ? chargeFailure(throttle, exchange, denial) : denial;
  };
  return (exchange) => {
    const claims = exchange.tokenVerification?.claims;
    if (claims?.key_id === undefined || claims.iss !== ownIssuer()) return undefined;
    if (typeof claims.key_id !== 'string') return { code: 'TOKEN_INVALID', detail: 'the access token names its parent key wrongly' };
    // The parent key itself came with this request (X-API-Key) and was checked and counted once already.
    if (exchange.verification?.keyId === claims.key_id) return undefined;
    const { requirement } = exchange;
    const v = verifier.verifyById(claims.key_id, {
      apiId: exchange.route.api.id,
      method: exchange.req.method,
      path: exchange.apiPath,
      caseInsensitivePath: exchange.route.caseInsensitive,
      ip: exchange.ip,
      // The token stands in for the key: the key must still hold what the route asks of the token.
      requiredScopes: requirement.scopes,
      certificateThumbprint: exchange.scheme === 'https' ? clientCertificateThumbprint(exchange.req.socket) : null,
      publishableRoute: requirement.type === 'publishable',
      origin: requestOrigin(exchange.req.headers),
      whenRedisUnavailable: exchange.route.api.whenRedisUnavailable,
    });
    return andThen(v, decide, exchange);
  };
}
