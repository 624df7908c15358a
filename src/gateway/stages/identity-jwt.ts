import type { IdentityJwtSigner } from '../identity-jwt.ts';
import type { Stage } from '../exchange.ts';

/** For APIs that ask for it: the signed identity JWT the upstream gets in place of the caller's credential. */
export function identityJwtStage(signer: () => IdentityJwtSigner | null): Stage {
  return (exchange) => {
    if (!exchange.route!.api.identityJwt) return undefined;
    if (!exchange.verification?.valid && !exchange.tokenVerification?.valid) return undefined;
    const s = signer();
    if (!s) return { code: 'INTERNAL', detail: 'this API asks for identity JWTs but no signing key is available' };
    const token = s.token(exchange);
    if (typeof token === 'string') {
      exchange.identityJwt = token;
      return undefined;
    }
    return token.then((value) => {
      exchange.identityJwt = value;
      return undefined;
    });
  };
}
