import type { FailureThrottle } from '../../limits/failure-throttle.ts';
import type { TokenVerification, TokenVerifier } from '../../verification/token-verifier.ts';
import type { Exchange, Stage, StageResult } from '../exchange.ts';

const DETAILS: Record<string, string> = {
  TOKEN_INVALID: 'the access token is not one this API accepts (issuer, signature, type or claims)',
  TOKEN_EXPIRED: 'the access token has expired',
  TOKEN_REVOKED: 'the access token, or the grant it came from, has been revoked',
  TOKEN_WRONG_AUDIENCE: 'the access token was issued for another API',
  DPOP_REQUIRED: 'the access token is DPoP-bound: send it as Authorization: DPoP with a valid DPoP proof',
};

/** Signature, issuer, type, expiry, audience, revocation: the shared token verifier, cached per token. */
export function verifyTokenStage(verifier: TokenVerifier | null, throttle: FailureThrottle, checkProof: (exchange: Exchange, v: TokenVerification) => StageResult | Promise<StageResult>): Stage {
  const decide = (exchange: Exchange, v: TokenVerification): StageResult | Promise<StageResult> => {
    if (!v.valid) {
      throttle.recordFailure(exchange.ip, exchange.now);
      return { code: v.code === 'VALID' ? 'INTERNAL' : v.code, detail: DETAILS[v.code] ?? v.code };
    }
    exchange.tokenVerification = v;
    return checkProof(exchange, v);
  };
  return (exchange) => {
    if (!exchange.requirement?.needsToken) return undefined;
    if (!verifier) return { code: 'TOKEN_INVALID', detail: 'this gateway trusts no token issuer' };
    const v = verifier.verify(exchange.token!, exchange.route!.api.tokens.audience, exchange.tokenScheme);
    return v instanceof Promise ? v.then((resolved) => decide(exchange, resolved)) : decide(exchange, v);
  };
}
