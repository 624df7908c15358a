import type { IncomingHttpHeaders } from 'node:http';
import type { Stage } from '../exchange.ts';

/** Something that could be a credential: then it must never have crossed the network in clear text. */
export function carriesCredentials(headers: IncomingHttpHeaders): boolean {
  return headers.authorization !== undefined || headers['x-api-key'] !== undefined || headers.dpop !== undefined;
}

/** The API key in the request, if one is there, to flag it as exposed. */
export function presentedKey(headers: IncomingHttpHeaders): string | null {
  const auth = headers.authorization;
  if (auth && auth.slice(0, 7).toLowerCase() === 'bearer ' && auth.slice(7).trim().startsWith('gk_')) return auth.slice(7).trim();
  const header = headers['x-api-key'];
  return typeof header === 'string' && header.trim().startsWith('gk_') ? header.trim() : null;
}

/**
 * Credentials over plain HTTP are refused and never forwarded: whoever could read the connection has
 * them now. An API key seen this way is reported (`onExposed`) so it can be flagged and rotated.
 */
export function transportStage(onExposed: (secret: string, ip: string) => void): Stage {
  return (exchange) => {
    if (exchange.scheme === 'https' || !carriesCredentials(exchange.req.headers)) return undefined;
    const key = presentedKey(exchange.req.headers);
    if (key) onExposed(key, exchange.ip);
    return { code: 'CREDENTIALS_OVER_HTTP', detail: 'credentials must be sent over HTTPS; this one crossed the network in clear text: rotate it' };
  };
}
