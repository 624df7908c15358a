import { apiScopes } from './auth-requirements.ts';
import type { ApiAuth } from './entities.ts';

/** The OpenID Connect scopes every client may ask for in a sign-in, besides its API scopes. */
export const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'roles'] as const;
const OIDC = new Set<string>(OIDC_SCOPES);

export const isOidcScope = (scope: string): boolean => OIDC.has(scope);

/** A space-separated scope parameter (RFC 6749 §3.3) as its scope tokens. */
export const scopeTokens = (scope: string | undefined): string[] => [...new Set((scope ?? '').split(' ').filter(Boolean))];

/** What a client may be granted for one API: the scopes the API's rules mention that the client was given. */
export function grantableScopes(auth: ApiAuth, clientScopes: readonly string[]): string[] {
  return apiScopes(auth).filter((s) => clientScopes.includes(s));
}

/**
 * The requested scopes a client can never be granted for these APIs (RFC 6749 §3.3): refused with
 * invalid_scope by the caller, never dropped without a word. OpenID scopes belong to a sign-in,
 * so they are beyond reach where no user signs in (client credentials).
 */
export function ungrantableScopes(
  requested: readonly string[],
  clientScopes: readonly string[],
  apis: readonly { auth: ApiAuth }[],
  signIn: boolean,
): string[] {
  const grantable = new Set(apis.flatMap((api) => grantableScopes(api.auth, clientScopes)));
  return requested.filter((s) => !grantable.has(s) && !(signIn && OIDC.has(s)));
}

/** A client's own scopes that none of its APIs mentions, so no token could ever carry them. */
export function unusableClientScopes(clientScopes: readonly string[], apis: readonly { auth: ApiAuth }[]): string[] {
  const mentioned = new Set(apis.flatMap((api) => apiScopes(api.auth)));
  return clientScopes.filter((s) => !mentioned.has(s) && !OIDC.has(s));
}
