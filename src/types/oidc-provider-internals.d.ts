/**
 * oidc-provider's own DPoP proof validation for the token endpoint, which its built-in grants use and
 * a custom grant (token-exchange.ts) must call itself. Not part of its typed API; the version is pinned.
 */
declare module 'oidc-provider/lib/helpers/validate_dpop.js' {
  import type Provider from 'oidc-provider';
  import type { KoaContextWithOIDC } from 'oidc-provider';
  export interface ValidatedDpop {
    thumbprint: string;
    jti: string;
    iat: number;
  }
  export default function validateDpop(provider: Provider, ctx: KoaContextWithOIDC, accessToken?: string): Promise<ValidatedDpop | undefined>;
  export function checkDpopReplay(provider: Provider, ctx: KoaContextWithOIDC, dPoP: ValidatedDpop, clientId: string): Promise<void>;
}

/**
 * oidc-provider's per-provider state, where its router is: which methods a path takes is read from it
 * (method-not-allowed.ts). Not part of its typed API; the version is pinned.
 */
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  import type Provider from 'oidc-provider';
  export default function instance(provider: Provider): { router?: { match(method: string, path: string): { route: { path: string } } | undefined } };
}
