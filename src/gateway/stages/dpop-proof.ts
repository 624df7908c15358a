import type { DpopVerifier } from '../../verification/dpop.ts';
import type { ProofCheck } from './verify-token.ts';

/** The RFC 9449 §7.1 check for a DPoP-bound token: the request carries a fresh proof by the bound key. */
export function dpopProofCheck(dpop: DpopVerifier): ProofCheck {
  return (exchange, token) => {
    const jkt = (token.claims.cnf as { jkt?: unknown } | undefined)?.jkt;
    if (typeof jkt !== 'string') {
      return exchange.tokenScheme === 'dpop'
        ? { code: 'DPOP_INVALID', detail: 'this access token is not DPoP-bound: send it as Authorization: Bearer' }
        : undefined;
    }
    const proof = exchange.req.headers.dpop;
    const scheme = exchange.scheme;
    return dpop
      .check({
        proof: typeof proof === 'string' ? proof : undefined,
        method: exchange.req.method ?? 'GET',
        url: `${scheme}://${exchange.req.headers.host ?? ''}${exchange.path}`,
        accessToken: exchange.token!,
        jkt,
        nowSeconds: Math.floor(exchange.now / 1000),
        whenUnavailable: exchange.route.api.whenRedisUnavailable,
      })
      .then((result) => (result.ok ? undefined : { code: 'DPOP_INVALID', detail: result.reason }));
  };
}
