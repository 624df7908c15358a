import type { Stage } from '../exchange.ts';

const KEY_ONLY = 'send the API key as Authorization: Bearer <key> or X-API-Key: <key>';
const KEY_WITH_TOKEN = 'send the API key as X-API-Key: <key>; Authorization carries the access token';
const TOKEN = 'send an access token as Authorization: Bearer <token> (or DPoP <token> with a DPoP proof)';

/**
 * Picks out what the route requires (settled with the route, from method and path): the API
 * key from `X-API-Key`, or from `Authorization: Bearer` when no token is needed; the access token from
 * `Authorization: Bearer` or `DPoP` (RFC 6750 §2.1, RFC 9449 §7.1). Never from the query string, where
 * credentials end up in logs and browser history.
 */
export const credentialStage: Stage = (exchange) => {
  const requirement = exchange.requirement!;
  if (requirement.type === 'public') return undefined;
  const { headers } = exchange.req;
  const authorization = headers.authorization;
  const scheme = authorization === undefined ? null : schemeOf(authorization);
  const value = scheme === null ? undefined : authorization!.slice(scheme === 'bearer' ? 7 : 5).trim() || undefined;
  const keyHeader = typeof headers['x-api-key'] === 'string' ? headers['x-api-key'].trim() || undefined : undefined;
  if (requirement.needsToken) {
    // An API key sent where the token belongs is not a token; say where each goes.
    if (value !== undefined && !value.startsWith('gk_')) {
      exchange.token = value;
      exchange.tokenScheme = scheme!;
    }
    if (requirement.needsKey) exchange.credential = keyHeader ?? null;
  } else {
    exchange.credential = (scheme === 'bearer' ? value : undefined) ?? keyHeader ?? null;
  }
  if (requirement.needsKey && !exchange.credential) return { code: 'MISSING_CREDENTIAL', detail: requirement.needsToken ? KEY_WITH_TOKEN : KEY_ONLY };
  if (requirement.needsToken && !exchange.token) return { code: 'MISSING_CREDENTIAL', detail: TOKEN };
  return undefined;
};

function schemeOf(authorization: string): 'bearer' | 'dpop' | null {
  const lower = authorization.slice(0, 7).toLowerCase();
  if (lower === 'bearer ') return 'bearer';
  if (lower.startsWith('dpop ')) return 'dpop';
  return null;
}
