import type { Stage } from '../exchange.ts';

/**
 * The key from `Authorization: Bearer <key>` (RFC 6750 §2.1) or `X-API-Key`; never from the query
 * string, where it would end up in logs and browser history.
 */
export const credentialStage: Stage = (exchange) => {
  if (exchange.route?.api.auth.type === 'public') return undefined;
  const { headers } = exchange.req;
  const authorization = headers.authorization;
  if (authorization !== undefined && authorization.length > 7 && authorization.slice(0, 7).toLowerCase() === 'bearer ') {
    exchange.credential = authorization.slice(7).trim();
  } else if (typeof headers['x-api-key'] === 'string') {
    exchange.credential = headers['x-api-key'].trim();
  }
  if (!exchange.credential) return { code: 'MISSING_CREDENTIAL', detail: 'send the API key as Authorization: Bearer <key> or X-API-Key: <key>' };
  return undefined;
};
