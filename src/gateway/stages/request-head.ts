import type { Stage } from '../exchange.ts';
import { normalHeaderName } from '../header-names.ts';

/**
 * Headers the gateway decides on. Node keeps the first of two Host, Authorization or Referer
 * headers and joins two X-API-Key or Origin headers (Origin and Referer decide for publishable
 * keys); an upstream, or a proxy on the way, may read the other one. So a request carrying any of
 * these twice, in any spelling, is refused rather than guessed at.
 */
const SINGLE = new Map([
  ['host', 1],
  ['authorization', 2],
  ['x-api-key', 4],
  ['dpop', 8],
  ['origin', 16],
  ['referer', 32],
]);

/**
 * Method overrides are refused on every route, never dropped in silence: route rules and key limits
 * are checked against the request method, and an upstream that honoured an override would run
 * another one (a key limited to POST could DELETE). Send the method itself.
 */
const METHOD_OVERRIDE = new Set(['x-http-method-override', 'x-http-method', 'x-method-override']);
/**
 * Symfony, Laravel and Express's method-override read `_method` from the query string too, after
 * decoding the name (`_%6Dethod` is `_method` to them), and PHP reads a `.`, `[` or space in a name as `_`.
 * So the names are compared decoded; a query that cannot spell one (no `method`, no `%`) is not parsed.
 */
const MAY_NAME_METHOD = /method|%/i;
const METHOD_PARAM = /^[_. []method$/i;
function methodInQuery(query: string): boolean {
  if (!MAY_NAME_METHOD.test(query)) return false;
  // PHP also skips a name's leading spaces and reads it only up to a NUL (php_register_variable_ex).
  for (const name of new URLSearchParams(query.slice(1)).keys()) {
    if (METHOD_PARAM.test(name) || METHOD_PARAM.test(name.replace(/^ +/, '').split('\0', 1)[0]!)) return true;
  }
  return false;
}

/** RFC 9110 §7.2: a host (a DNS name, `_` allowed for service names, or an IP literal) and a port. */
const HOST = /^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** Names of these lengths only can be one of the headers above: the rest are passed over unread. */
const LENGTHS = new Set([...SINGLE.keys(), ...METHOD_OVERRIDE].map((n) => n.length));

/** The request head, checked once before routing: singleton headers, method overrides, Host. */
export const requestHeadStage: Stage = (exchange) => {
  const raw = exchange.req.rawHeaders;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (!LENGTHS.has(raw[i]!.length)) continue;
    const name = normalHeaderName(raw[i]!);
    const bit = SINGLE.get(name);
    if (bit !== undefined) {
      if (seen & bit) return { code: 'VALIDATION_FAILED', detail: `the request has more than one ${name} header` };
      seen |= bit;
    } else if (METHOD_OVERRIDE.has(name)) {
      return { code: 'VALIDATION_FAILED', detail: `${raw[i]} is not honoured: send the method itself` };
    }
  }
  if (exchange.query.length > 1 && methodInQuery(exchange.query)) {
    return { code: 'VALIDATION_FAILED', detail: '_method in the query string is not honoured: send the method itself' };
  }
  const host = exchange.req.headers.host;
  if (host !== undefined && !HOST.test(host))
    return { code: 'VALIDATION_FAILED', detail: 'the Host header is not a host name or address with an optional port' };
  return undefined;
};
