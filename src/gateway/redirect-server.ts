import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { unmapIpv4 } from '../domain/ip-allowlist.ts';
import { capConnections, limitedServerOptions, type ConnectionLimits } from '../http/connection-limits.ts';
import { problem, writeProblem } from '../http/problem.ts';
import { carriesCredentials, presentedKey, queryCredential, type OnExposed } from './stages/transport.ts';

/**
 * The plain-HTTP listener beside the HTTPS gateway: it only sends clients to HTTPS (308, so the
 * method and body are kept), except that a request carrying credentials (in a header or the query
 * string) is refused and not redirected, since following the redirect would send them again; an
 * API key in it is reported. The redirect goes to the configured public host, never to the Host the
 * request named: a Host header is the client's to choose.
 *
 * `publicHost` is a host with an optional port; without one, the HTTPS listener's port is added.
 */
export function createRedirectServer(publicHost: string, httpsPortOf: () => number, onExposed: OnExposed, gatewayLimits: ConnectionLimits): Server {
  const hasPort = /:\d+$/.test(publicHost);
  const server = plainHttpServer(
    gatewayLimits,
    plainHttpHandler(onExposed, (req, res) => {
      const target = req.url ?? '/';
      // Origin-form only (RFC 9112 §3.2.1): an absolute-form or `*` target has no path of ours to keep.
      if (target.charCodeAt(0) !== 47) return writeProblem(res, problem('VALIDATION_FAILED', 'the request target must be a path', null), CLOSE);
      const httpsPort = httpsPortOf();
      const authority = hasPort || httpsPort === 443 ? publicHost : `${publicHost}:${httpsPort}`;
      res.writeHead(308, { location: `https://${authority}${target}`, 'content-length': 0, connection: 'close' });
      res.end();
    }),
  );
  return capConnections(server, plainHttpLimits(gatewayLimits));
}

/**
 * A server for plain HTTP to the gateway, answering every request with `handler`, those with an
 * Expect header too (RFC 9110 §10.1.1), which Node would otherwise answer itself: `100-continue`
 * with a 100, which has the client send its body in clear text to a listener that never reads it;
 * any other with a 417 that keeps the connection and never looks at the request's credentials.
 */
export function plainHttpServer(gatewayLimits: ConnectionLimits, handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  return createServer(limitedServerOptions(plainHttpLimits(gatewayLimits)), handler)
    .on('checkContinue', handler)
    .on('checkExpectation', handler);
}

/** The gateway's limits, with shorter timeouts: a plain-HTTP answer needs only the head, and no body is read. */
export function plainHttpLimits(gatewayLimits: ConnectionLimits): ConnectionLimits {
  return { ...gatewayLimits, requestMs: Math.min(gatewayLimits.requestMs, 10_000), headersMs: Math.min(gatewayLimits.headersMs, 5_000) };
}

/**
 * How plain HTTP to the gateway is handled, on the redirect listener and on the HTTPS port alike
 * (http/plain-http-on-tls.ts): a request carrying credentials (in a header or the query string) is
 * refused (403 CREDENTIALS_OVER_HTTP), never forwarded, and an API key in it is reported as exposed;
 * any other request gets `otherwise`'s answer. Every answer ends its connection.
 */
export function plainHttpHandler(onExposed: OnExposed, otherwise: (req: IncomingMessage, res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const inQuery = queryCredential(q === -1 ? '' : target.slice(q));
    if (inQuery || carriesCredentials(req.headers)) {
      const key = presentedKey(req.headers) ?? inQuery?.key ?? null;
      if (key) onExposed(key, unmapIpv4(req.socket.remoteAddress ?? ''), 'plain-http');
      return writeProblem(
        res,
        problem('CREDENTIALS_OVER_HTTP', 'credentials must be sent over HTTPS; this one crossed the network in clear text: rotate it', null),
        CLOSE,
      );
    }
    otherwise(req, res);
  };
}

/**
 * The answer to a plain-HTTP request without credentials on the gateway's HTTPS port (nginx's 497):
 * 400 HTTPS_REQUIRED, not a redirect (the port is not one to send clients to twice).
 */
export function httpsRequired(_req: IncomingMessage, res: ServerResponse): void {
  writeProblem(res, problem('HTTPS_REQUIRED', 'this port speaks HTTPS only: send the request to https://, not http://', null), CLOSE);
}

/** This listener keeps no connection open: every answer, a redirect or a refusal, ends its connection. */
const CLOSE = { connection: 'close' } as const;
