import type { KoaContextWithOIDC } from 'oidc-provider';
import { withoutSecrets } from '../../domain/secret-redaction.ts';
import { traceServerRequest } from '../../telemetry/http-spans.ts';
import type { Tracing } from '../../telemetry/tracing.ts';

/**
 * A SERVER span per authorization-server request (the token endpoint, authorization, introspection,
 * revocation, JWKS...), named by oidc-provider's route (`POST /token`), with the client's id and the
 * grant type, never a secret, code or token. The first provider middleware, so the span covers
 * oidc-provider's error answers too.
 */
export function traceProviderRequests(tracing: Tracing): (kctx: KoaContextWithOIDC, next: () => Promise<unknown>) => Promise<unknown> {
  return (kctx, next) =>
    traceServerRequest(
      tracing,
      kctx.req,
      kctx.res,
      () => {
        // Set by oidc-provider's router once it matched (a path template such as /token or /auth/:uid).
        const route = (kctx as { _matchedRoute?: unknown })._matchedRoute;
        const clientId = kctx.oidc?.client?.clientId;
        const grantType = kctx.oidc?.params?.grant_type;
        return {
          route: typeof route === 'string' ? route : null,
          attributes: {
            ...(typeof clientId === 'string' ? { 'gatehouse.client_id': clientId } : {}),
            // As the client sent it, supported or not: secrets replaced (by the rule of url.path), then cut.
            ...(typeof grantType === 'string' ? { 'gatehouse.grant_type': withoutSecrets(grantType, '{secret}').slice(0, 100) } : {}),
          },
        };
      },
      next,
    );
}
