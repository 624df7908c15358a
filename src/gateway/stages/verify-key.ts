import { DENIAL_DETAILS, isFailedKeyCheck } from '../../domain/codes.ts';
import { andThen } from '../../domain/maybe-async.ts';
import type { Throttle } from '../../limits/port.ts';
import type { KeyChecker, Verification } from '../../verification/port.ts';
import type { RoutedExchange, RoutedStage, StageResult } from '../exchange.ts';
import { rateLimitHeaders } from '../rate-limit-headers.ts';
import { clientCertificateThumbprint } from './client-certificate.ts';
import { requestOrigin } from './cors.ts';
import { chargeFailure } from './throttle-failures.ts';

const NO_SCOPES: readonly string[] = [];

/** Status, expiry, access, IP, scopes, then rate limits and quota: all in the shared verifier. */
export function verifyKeyStage(verifier: KeyChecker, throttle: Throttle): RoutedStage {
  const decide = (v: Verification, exchange: RoutedExchange): StageResult | Promise<StageResult> => {
    if (v.valid) {
      exchange.verification = v;
      exchange.rateLimitHeaders = rateLimitHeaders(v.limits);
      return undefined;
    }
    if (v.keyId !== null) exchange.refusedKey = v;
    const scope = v.code === 'INSUFFICIENT_SCOPE' ? { scope: exchange.requirement.scopes } : {};
    const denial = {
      code: v.code,
      detail: DENIAL_DETAILS[v.code],
      limits: v.limits,
      ...scope,
      ...(v.retryAfterMs > 0 ? { retryAfterMs: v.retryAfterMs } : {}),
    };
    return isFailedKeyCheck(v.code) ? chargeFailure(throttle, exchange, denial) : denial;
  };
  return (exchange) => {
    const { requirement, route } = exchange;
    if (!requirement.needsKey) return undefined;
    // The credential stage refused a request that needs a key and carries none.
    const v = verifier.verify(exchange.credential!, {
      apiId: route.api.id,
      method: exchange.req.method,
      path: exchange.apiPath,
      caseInsensitivePath: route.caseInsensitive,
      ip: exchange.ip,
      // With a token, the route's scopes are the user's to hold; the key only identifies the app.
      requiredScopes: requirement.needsToken ? NO_SCOPES : requirement.scopes,
      certificateThumbprint: exchange.scheme === 'https' ? clientCertificateThumbprint(exchange.req.socket) : null,
      publishableRoute: requirement.type === 'publishable',
      origin: requestOrigin(exchange.req.headers),
      whenRedisUnavailable: exchange.route.api.whenRedisUnavailable,
    });
    return andThen(v, decide, exchange);
  };
}
