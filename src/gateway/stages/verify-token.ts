import { DENIAL_DETAILS } from '../../domain/codes.ts';
import { andThen } from '../../domain/maybe-async.ts';
import type { Throttle } from '../../limits/port.ts';
import type { TokenChecker, TokenVerification, VerifiedToken } from '../../verification/port.ts';
import type { RoutedExchange, RoutedStage, StageResult } from '../exchange.ts';
import { chargeFailure } from './throttle-failures.ts';

/** The RFC 9449 check that follows a verified token (dpop-proof.ts): a DPoP-bound token needs its proof. */
export type ProofCheck = (exchange: RoutedExchange, token: VerifiedToken) => StageResult | Promise<StageResult>;

/** Signature, issuer, type, expiry, audience, revocation: the shared token verifier, cached per token. */
export function verifyTokenStage(verifier: TokenChecker | null, throttle: Throttle, checkProof: ProofCheck): RoutedStage {
  const decide = (v: TokenVerification, exchange: RoutedExchange): StageResult | Promise<StageResult> => {
    if (!v.valid) return chargeFailure(throttle, exchange, { code: v.code, detail: DENIAL_DETAILS[v.code] });
    exchange.tokenVerification = v;
    return checkProof(exchange, v);
  };
  return (exchange) => {
    if (!exchange.requirement.needsToken) return undefined;
    if (!verifier) return { code: 'TOKEN_INVALID', detail: 'this gateway trusts no token issuer' };
    // The credential stage refused a request that needs a token and carries none.
    return andThen(verifier.verify(exchange.token!, exchange.route.api.tokens.audience, exchange.tokenScheme), decide, exchange);
  };
}
