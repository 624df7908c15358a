import { isFailedKeyCheck } from '../../domain/codes.ts';
import type { FailureThrottle } from '../../limits/failure-throttle.ts';
import type { KeyVerifier, Verification } from '../../verification/key-verifier.ts';
import type { Exchange, Stage, StageResult } from '../exchange.ts';
import { rateLimitHeaders } from '../rate-limit-headers.ts';
import { clientCertificateThumbprint } from './client-certificate.ts';
import { requestOrigin } from './cors.ts';

const DETAILS: Record<string, string> = {
  MALFORMED: 'the credential is not a Gatehouse API key',
  NOT_FOUND: 'no such API key',
  DISABLED: 'this API key is disabled',
  EXPIRED: 'this API key has expired',
  REVOKED: 'this API key has been revoked',
  FORBIDDEN: 'this API key may not be used for this API, method, path, address, client certificate or origin',
  INSUFFICIENT_SCOPE: 'this API key lacks a scope the route requires',
  RATE_LIMITED: 'rate limit exceeded',
  QUOTA_EXCEEDED: 'quota exhausted for this period',
};

const NO_SCOPES: readonly string[] = [];

/** Status, expiry, access, IP, scopes, then rate limits and quota: all in the shared verifier. */
export function verifyKeyStage(verifier: KeyVerifier, throttle: FailureThrottle): Stage {
  const decide = (exchange: Exchange, v: Verification): StageResult => {
    exchange.verification = v;
    if (v.valid) {
      exchange.rateLimitHeaders = rateLimitHeaders(v.limits);
      return undefined;
    }
    if (isFailedKeyCheck(v.code)) throttle.recordFailure(exchange.ip, exchange.now);
    const code = v.code === 'VALID' ? 'INTERNAL' : v.code;
    const scope = code === 'INSUFFICIENT_SCOPE' ? { scope: exchange.requirement!.scopes } : {};
    return { code, detail: DETAILS[code] ?? code, limits: v.limits, ...scope, ...(v.retryAfterMs > 0 ? { retryAfterMs: v.retryAfterMs } : {}) };
  };
  return (exchange) => {
    const requirement = exchange.requirement!;
    if (!requirement.needsKey) return undefined;
    const v = verifier.verify(exchange.credential!, {
      apiId: exchange.route!.api.id,
      method: exchange.req.method,
      path: exchange.apiPath,
      caseInsensitivePath: exchange.route!.caseInsensitive,
      ip: exchange.ip,
      // With a token, the route's scopes are the user's to hold; the key only identifies the app.
      requiredScopes: requirement.needsToken ? NO_SCOPES : requirement.scopes,
      certificateThumbprint: exchange.scheme === 'https' ? clientCertificateThumbprint(exchange.req.socket) : null,
      publishableRoute: requirement.type === 'publishable',
      origin: requestOrigin(exchange.req.headers),
    });
    return v instanceof Promise ? v.then((resolved) => decide(exchange, resolved)) : decide(exchange, v);
  };
}
