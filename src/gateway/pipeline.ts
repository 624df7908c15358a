import type { FailureThrottle } from '../limits/failure-throttle.ts';
import type { KeyVerifier } from '../verification/key-verifier.ts';
import type { Stage } from './exchange.ts';
import type { RouteTable } from './route-table.ts';
import { credentialStage } from './stages/credential.ts';
import { forwardStage } from './stages/forward.ts';
import { routeStage } from './stages/route.ts';
import { safePathStage } from './stages/safe-path.ts';
import { throttleFailuresStage } from './stages/throttle-failures.ts';
import { verifyKeyStage } from './stages/verify-key.ts';
import type { Upstreams } from './upstreams.ts';

export interface PipelineDeps {
  routes: () => RouteTable;
  verifier: KeyVerifier;
  throttle: FailureThrottle;
  upstreams: Upstreams;
}

/**
 * A request's whole way through the gateway, in order. The first stage that returns a denial ends
 * it; the denial renderer answers. Nothing here writes to the store.
 */
export function buildPipeline(deps: PipelineDeps): readonly (readonly [name: string, stage: Stage])[] {
  return [
    ['route', routeStage(deps.routes)], //                                which API serves this path
    ['safe-path', safePathStage], //                                      no dot segments or encoded slashes
    ['throttle-failures', throttleFailuresStage(deps.throttle)], //       addresses that guessed too often wait
    ['credential', credentialStage], //                                   Authorization: Bearer or X-API-Key
    ['verify-key', verifyKeyStage(deps.verifier, deps.throttle)], //      status, expiry, access, IP, scopes, limits, quota
    ['forward', forwardStage(deps.upstreams)], //                         to the upstream, identity in, credential out
  ];
}
