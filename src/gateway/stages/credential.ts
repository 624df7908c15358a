import { parseAuthorization } from '../../http/authorization-header.ts';
import type { RoutedStage } from '../exchange.ts';

const KEY_ONLY = 'send the API key as Authorization: Bearer <key> or X-API-Key: <key>';
const TOKEN = 'send an access token as Authorization: Bearer <token> (or DPoP <token> with a DPoP proof)';
const KEY_WITH_TOKEN = 'this route needs an API key as well as the access token: send the API key as X-API-Key: <key>; Authorization carries the token';
const TOKEN_WITH_KEY = `this route needs an access token as well as the API key: ${TOKEN}; the API key goes in X-API-Key`;
const BOTH =
  'this route needs an API key and an access token: send the API key as X-API-Key: <key> and the access token as Authorization: Bearer <token> (or DPoP <token> with a DPoP proof)';
const KEY_IS_NOT_A_TOKEN = 'an API key is not an access token: ';

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
  // Each answer names what is missing, in its code and title as in its detail.
  const keyMissing = requirement.needsKey && !exchange.credential;
  const tokenMissing = requirement.needsToken && !exchange.token;
  const keyForToken = tokenMissing && presented?.token.startsWith('gk_') ? KEY_IS_NOT_A_TOKEN : '';
  if (keyMissing && tokenMissing) return { code: 'MISSING_CREDENTIAL', detail: keyForToken + BOTH };
  if (keyMissing) return { code: 'MISSING_API_KEY', detail: requirement.needsToken ? KEY_WITH_TOKEN : KEY_ONLY };
  if (tokenMissing) return { code: 'MISSING_TOKEN', detail: keyForToken + (requirement.needsKey ? TOKEN_WITH_KEY : TOKEN) };
  return undefined;
};
