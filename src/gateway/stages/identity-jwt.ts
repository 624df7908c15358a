import type { IdentityJwtSigner } from '../identity-jwt.ts';
import { andThen } from '../../domain/maybe-async.ts';
import type { RoutedExchange, RoutedStage } from '../exchange.ts';

/** For APIs that ask for it: the signed identity JWT the upstream gets in place of the caller's credential. */
export function identityJwtStage(signer: () => IdentityJwtSigner | null): RoutedStage {
  return (exchange) => {
    if (!exchange.route.api.identityJwt) return undefined;
    if (!exchange.verification && !exchange.tokenVerification) return undefined;
    const s = signer();
    if (!s) return { code: 'INTERNAL', detail: 'this API asks for identity JWTs but no signing key is available' };
    return andThen(s.token(exchange), keep, exchange);
  };
}

/** The signed identity JWT goes with the forwarded request; nothing here refuses. */
function keep(token: string, exchange: RoutedExchange): undefined {
  exchange.identityJwt = token;
  return undefined;
}
