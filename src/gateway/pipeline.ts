import type { Limiter, Throttle } from '../limits/port.ts';
import type { KeyChecker, TokenChecker } from '../verification/port.ts';
import type { RoutedStage, Stage } from './exchange.ts';
import type { RouteTable } from './route-table.ts';
import { authorizeStage } from './stages/authorize.ts';
import { transportStage, type OnExposed } from './stages/transport.ts';
import { bodyLimitStage } from './stages/body-limit.ts';
import { clientCertificateStage } from './stages/client-certificate.ts';
import { corsStage } from './stages/cors.ts';
import { identityJwtStage } from './stages/identity-jwt.ts';
import { parentKeyStage } from './stages/parent-key.ts';
import type { CounterUsage } from '../limits/identity-limits.ts';
import { identityLimitsStage } from './stages/identity-limits.ts';
import type { IdentityJwtSigner } from './identity-jwt.ts';
import { credentialStage } from './stages/credential.ts';
import { forwardStage } from './stages/forward.ts';
import { routeStage } from './stages/route.ts';
import { canonicalPathStage } from './stages/canonical-path.ts';
import { requestHeadStage } from './stages/request-head.ts';
import { throttleFailuresStage } from './stages/throttle-failures.ts';
import { verifyKeyStage } from './stages/verify-key.ts';
import { verifyTokenStage, type ProofCheck } from './stages/verify-token.ts';
import type { Upstreams } from './upstreams.ts';

export interface PipelineDeps {
  /** Refuse credentials over plain HTTP (false: allow them, development only); API keys in a query string are refused either way. */
  refusePlaintext: boolean;
  /** Reports an API key seen over plain HTTP or in a query string, to be marked exposed. */
  onExposed: OnExposed;
  routes: () => RouteTable;
  verifier: KeyChecker;
  tokens: TokenChecker | null;
  /** RFC 9449 proof check for DPoP-bound tokens. */
  checkProof: ProofCheck;
  throttle: Throttle;
  /** Gatehouse's own issuer URL (null until it is up, or without one): only its tokens can name a parent key. */
  ownIssuer: () => string | null;
  /** Counts the API's per-app and per-user limits (the key's own limits are the verifier's). */
  limiter: Limiter;
  /** Where quotas counted per app or user are kept (batched, like key usage). */
  counters: CounterUsage;
  upstreams: Upstreams;
  maxBodyBytes: number;
  /** Signs identity JWTs; null until Gatehouse's own issuer is up (or without a master key). */
  identityJwt: () => IdentityJwtSigner | null;
}

/**
 * The stages after `route` rely on the route and requirement it settled: they run only when it found
 * both (it refuses the request otherwise). This table's order is what makes that true, so the one
 * cast that says so is here.
 */
const routed = (stage: RoutedStage): Stage => stage as Stage;

/**
 * A request's whole way through the gateway, in order. The first stage that returns a denial ends
 * it; the denial renderer answers. Nothing here writes to the store.
 */
export function buildPipeline(deps: PipelineDeps): readonly (readonly [name: string, stage: Stage])[] {
  return [
    ['transport', transportStage(deps)], //                               no credentials in clear text, no API key in a URL
    ['canonical-path', canonicalPathStage], //                            the one spelling of the path that is matched and forwarded
    ['request-head', requestHeadStage], //                                one Host, Authorization, X-API-Key; no method override
    ['route', routeStage(deps.routes)], //                                which API serves this path
    ['body-limit', bodyLimitStage(deps.maxBodyBytes)], //                 a declared body over the limit
    ['client-certificate', routed(clientCertificateStage)], //            mutual TLS, for APIs that require it
    ['cors', routed(corsStage)], //                                       publishable routes: preflight and CORS answers
    ['throttle-failures', routed(throttleFailuresStage(deps.throttle))], // addresses that guessed too often wait
    ['credential', routed(credentialStage)], //                           the route's requirement; key and/or token
    ['verify-key', routed(verifyKeyStage(deps.verifier, deps.throttle))], // status, expiry, access, IP, scopes, limits, quota
    ['verify-token', routed(verifyTokenStage(deps.tokens, deps.throttle, deps.checkProof))], // signature, issuer, expiry, audience, revocation, DPoP
    ['authorize', routed(authorizeStage)], //                             the token's scopes and roles for this route
    ['parent-key', routed(parentKeyStage(deps.verifier, deps.ownIssuer, deps.throttle))], // an exchanged token: its key's status, access, limits
    ['identity-limits', routed(identityLimitsStage(deps.limiter, deps.counters))], // the API's limits per app, user or both
    ['identity-jwt', routed(identityJwtStage(deps.identityJwt))], //      a signed identity JWT, for APIs that ask
    ['forward', routed(forwardStage(deps.upstreams, deps.maxBodyBytes))], // to the upstream, identity in, credential out
  ];
}
