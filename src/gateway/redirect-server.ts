import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { unmapIpv4 } from '../domain/ip-allowlist.ts';
import { capConnections, limitedServerOptions, type ConnectionLimits } from '../http/connection-limits.ts';
import { problem, problemAnswer, writeProblem, type Problem } from '../http/problem.ts';
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
  const server = plainHttpServer(gatewayLimits, onExposed, (req, res) => {
    const target = req.url ?? '/';
    // Origin-form only (RFC 9112 §3.2.1): an absolute-form or `*` target has no path of ours to keep.
    if (target.charCodeAt(0) !== 47) return writeProblem(res, problem('VALIDATION_FAILED', 'the request target must be a path', null), CLOSE);
    const httpsPort = httpsPortOf();
    const authority = hasPort || httpsPort === 443 ? publicHost : `${publicHost}:${httpsPort}`;
    res.writeHead(308, { location: `https://${authority}${target}`, 'content-length': 0, connection: 'close' });
    res.end();
  });
  return capConnections(server, plainHttpLimits(gatewayLimits));
}

/**
 * A server for plain HTTP to the gateway, answering every request as plainHttpHandler does with
 * `otherwise`, those with an Expect header too (RFC 9110 §10.1.1), which Node would otherwise answer
 * itself: `100-continue` with a 100, which has the client send its body in clear text to a listener
 * that never reads it; any other with a 417 that keeps the connection and never looks at the
 * request's credentials. A CONNECT (RFC 9110 §9.3.6) is no 'request' to Node, which drops it
 * unanswered without a listener: its credentials would cross in clear unseen. It is answered here.
 */
export function plainHttpServer(gatewayLimits: ConnectionLimits, onExposed: OnExposed, otherwise: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const handler = plainHttpHandler(onExposed, otherwise);
  return createServer(limitedServerOptions(plainHttpLimits(gatewayLimits)), handler)
    .on('checkContinue', handler)
    .on('checkExpectation', handler)
    .on('connect', (req: IncomingMessage, socket: Duplex) => {
      const refusal = credentialRefusal(req, onExposed);
      // This listener tunnels nothing: an authority-form target has no path of ours (RFC 9112 §3.2.3).
      endWithProblem(socket, refusal ?? problem('VALIDATION_FAILED', 'the request target must be a path: this listener tunnels nothing', null));
    });
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
    const refusal = credentialRefusal(req, onExposed);
    if (refusal) return writeProblem(res, refusal, CLOSE);
    otherwise(req, res);
  };
}

/** The refusal of a plain-HTTP request carrying credentials (an API key in it reported as exposed); null when it carries none. */
function credentialRefusal(req: IncomingMessage, onExposed: OnExposed): Problem | null {
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const inQuery = queryCredential(q === -1 ? '' : target.slice(q));
  if (!inQuery && !carriesCredentials(req.headers)) return null;
  const key = presentedKey(req.headers) ?? inQuery?.key ?? null;
  if (key) onExposed(key, unmapIpv4(req.socket.remoteAddress ?? ''), 'plain-http');
  return problem('CREDENTIALS_OVER_HTTP', 'credentials must be sent over HTTPS; this one crossed the network in clear text: rotate it', null);
}

/** A problem written on a connection Node handed over raw (a CONNECT's), which then ends. */
function endWithProblem(socket: Duplex, body: Problem): void {
  const answer = problemAnswer(body);
  const head = [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}`,
    `content-type: ${answer.headers['content-type']}`,
    `cache-control: ${answer.headers['cache-control']}`,
    `content-length: ${Buffer.byteLength(answer.body)}`,
    'connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${answer.body}`);
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
