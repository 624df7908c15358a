import type { IncomingHttpHeaders } from 'node:http';
import { isWellFormedKey } from '../../domain/key-format.ts';
import { parseAuthorization } from '../../http/authorization-header.ts';
import type { Stage } from '../exchange.ts';

/** Something that could be a credential: then it must never have crossed the network in clear text. */
export function carriesCredentials(headers: IncomingHttpHeaders): boolean {
  return headers.authorization !== undefined || headers['x-api-key'] !== undefined || headers.dpop !== undefined;
}

/** The API key in the request, if one is there, to flag it as exposed. */
export function presentedKey(headers: IncomingHttpHeaders): string | null {
  const auth = parseAuthorization(headers.authorization);
  if (auth?.scheme === 'bearer' && auth.token.startsWith('gk_')) return auth.token;
  const header = headers['x-api-key'];
  return typeof header === 'string' && header.trim().startsWith('gk_') ? header.trim() : null;
}

/** Query parameters that carry credentials by convention (compared lower-case, `-` read as `_`). */
const CREDENTIAL_PARAMS = new Set([
  'key',
  'apikey',
  'api_key',
  'x_api_key',
  'access_token',
  'token',
  'id_token',
  'refresh_token',
  'auth',
  'auth_token',
  'authorization',
  'client_secret',
]);
/** Anything shaped like one of our keys, wherever it sits in the query (a name, a value, part of one). */
const KEY_IN_QUERY = /gk_(?:pub_)?(?:live|test)_[0-9A-Za-z]*/g;

/**
 * A credential in the query string: a non-empty parameter named like one, or one of our API keys
 * anywhere in it (percent-decoded). `key` is a well-formed API key found there, to flag as exposed.
 * The gateway never takes credentials from the query string, but one sent there has still crossed
 * the network, and sits in every log on the way.
 */
export function queryCredential(query: string): { key: string | null } | null {
  if (query.length < 2) return null;
  const params = new URLSearchParams(query.slice(1));
  let found = false;
  let key: string | null = null;
  for (const [name, value] of params) {
    if (value !== '' && CREDENTIAL_PARAMS.has(name.toLowerCase().replaceAll('-', '_'))) found = true;
    for (const match of `${name}=${value}`.matchAll(KEY_IN_QUERY)) {
      found = true;
      if (key === null && (isWellFormedKey(match[0], 'api') || isWellFormedKey(match[0], 'publishable'))) key = match[0];
    }
  }
  return found ? { key } : null;
}

/** How the gateway learnt a key is exposed: it came over plain HTTP, or in a URL's query string. */
export type GatewayExposureSource = 'plain-http' | 'query-string';
/** Reports a key the gateway saw exposed (the control plane marks it: a store write, never on the request path). */
export type OnExposed = (secret: string, ip: string, source: GatewayExposureSource) => void;

/** A query that cannot hold one of our keys, even percent-encoded, is not parsed: most requests pay two scans. */
const mayHoldKey = (query: string): boolean => query.includes('gk') || query.includes('%');

/**
 * A secret API key (`gk_live_`, `gk_test_`, checksum valid) anywhere in the query string, percent-decoded;
 * null for none. Publishable keys are public by design and are not looked for.
 */
export function apiKeyInQuery(query: string): string | null {
  if (query.length < 2 || !mayHoldKey(query)) return null;
  for (const [name, value] of new URLSearchParams(query.slice(1)))
    for (const match of `${name}=${value}`.matchAll(KEY_IN_QUERY)) if (isWellFormedKey(match[0], 'api')) return match[0];
  return null;
}

/**
 * Credentials over plain HTTP are refused and never forwarded (with `refusePlaintext`): whoever could
 * read the connection has them now. An API key in the query string is refused too, over HTTPS as well:
 * the gateway never takes a credential from there (the credential stage reads headers only, RFC 6750
 * §2.3's query form included), and a URL is written to access logs, proxies and browser history on its
 * way, so the secret is out. Each API key seen either way is reported (`onExposed`), with its source.
 */
export function transportStage(o: { refusePlaintext: boolean; onExposed: OnExposed }): Stage {
  const { refusePlaintext, onExposed } = o;
  return (exchange) => {
    if (refusePlaintext && exchange.scheme !== 'https') {
      const inQuery = queryCredential(exchange.query);
      if (inQuery || carriesCredentials(exchange.req.headers)) {
        const key = presentedKey(exchange.req.headers) ?? inQuery?.key ?? null;
        if (key) onExposed(key, exchange.ip, 'plain-http');
        return { code: 'CREDENTIALS_OVER_HTTP', detail: 'credentials must be sent over HTTPS; this one crossed the network in clear text: rotate it' };
      }
    }
    const key = apiKeyInQuery(exchange.query);
    if (key === null) return undefined;
    onExposed(key, exchange.ip, 'query-string');
    return {
      code: 'CREDENTIALS_IN_QUERY',
      detail: 'an API key is never accepted in the query string: send it as X-API-Key or Authorization: Bearer; this one is now in logs on the way: rotate it',
    };
  };
}
