import type { IncomingHttpHeaders } from 'node:http';
import type { RoutedExchange, RoutedStage } from '../exchange.ts';

const EXPOSED = 'RateLimit, RateLimit-Policy, Retry-After, X-Request-Id, WWW-Authenticate';

/** The browser origin of a request: its Origin, else the origin of its Referer; null when neither says. */
export function requestOrigin(headers: IncomingHttpHeaders): string | null {
  const origin = headers.origin;
  if (typeof origin === 'string' && origin !== 'null') return origin;
  const referer = headers.referer;
  if (typeof referer === 'string' && URL.canParse(referer)) return new URL(referer).origin;
  return null;
}

/**
 * CORS for publishable routes (Fetch standard): a preflight is answered here, before any credential
 * (browsers send none with it), for GET and HEAD with X-API-Key; actual answers name the caller's
 * origin. Whether that origin may use the key is decided with the key, in verify-key.
 */
export const corsStage: RoutedStage = (exchange) => {
  if (exchange.requirement.type !== 'publishable' && !isPreflightFor(exchange)) return undefined;
  const origin = exchange.req.headers.origin;
  if (typeof origin !== 'string') return undefined;
  const { res } = exchange;
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Vary', 'Origin');
  if (exchange.req.method === 'OPTIONS' && exchange.req.headers['access-control-request-method'] !== undefined) {
    res.writeHead(204, {
      'Access-Control-Allow-Methods': 'GET, HEAD',
      'Access-Control-Allow-Headers': 'X-API-Key, Content-Type',
      'Access-Control-Max-Age': '600',
      'Content-Length': '0',
    });
    res.end();
    return { answered: 'PREFLIGHT' };
  }
  res.setHeader('Access-Control-Expose-Headers', EXPOSED);
  return undefined;
};

/** A preflight for a publishable route is an OPTIONS request asking about GET or HEAD. */
function isPreflightFor(exchange: RoutedExchange): boolean {
  if (exchange.req.method !== 'OPTIONS') return false;
  const asked = exchange.req.headers['access-control-request-method'];
  return (asked === 'GET' || asked === 'HEAD') && exchange.route.requirements(asked, exchange.apiPath).type === 'publishable';
}
