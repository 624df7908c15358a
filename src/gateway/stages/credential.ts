import { parseAuthorization } from '../../http/authorization-header.ts';
import type { RoutedStage } from '../exchange.ts';

const KEY_ONLY = 'send the API key as Authorization: Bearer <key> or X-API-Key: <key>';
const KEY_WITH_TOKEN = 'send the API key as X-API-Key: <key>; Authorization carries the access token';
const TOKEN = 'send an access token as Authorization: Bearer <token> (or DPoP <token> with a DPoP proof)';

/**
 * Picks out what the route requires (settled with the route, from method and path): the API
 * key from `X-API-Key`, or from `Authorization: Bearer` when no token is needed; the access token from
 * `Authorization: Bearer` or `DPoP` (RFC 6750 §2.1, RFC 9449 §7.1). Never from the query string, where
 * credentials end up in logs and browser history.
 */
export const credentialStage: RoutedStage = (exchange) => {
  const { requirement } = exchange;
  if (requirement.type === 'public') return undefined;
  const { headers } = exchange.req;
  const presented = parseAuthorization(headers.authorization);
  const keyHeader = typeof headers['x-api-key'] === 'string' ? headers['x-api-key'].trim() || undefined : undefined;
  if (requirement.needsToken) {
    // An API key sent where the token belongs is not a token; say where each goes.
    if (presented !== null && !presented.token.startsWith('gk_')) {
      exchange.token = presented.token;
      exchange.tokenScheme = presented.scheme;
    }
    if (requirement.needsKey) exchange.credential = keyHeader ?? null;
  } else {
    exchange.credential = (presented?.scheme === 'bearer' ? presented.token : undefined) ?? keyHeader ?? null;
  }
  if (requirement.needsKey && !exchange.credential) return { code: 'MISSING_CREDENTIAL', detail: requirement.needsToken ? KEY_WITH_TOKEN : KEY_ONLY };
  if (requirement.needsToken && !exchange.token) return { code: 'MISSING_CREDENTIAL', detail: TOKEN };
  return undefined;
};
