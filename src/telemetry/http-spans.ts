import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import { unmapIpv4 } from '../domain/ip-allowlist.ts';
import { pathWithoutSecrets, withoutSecrets } from '../domain/secret-redaction.ts';
import type { Tracing } from './tracing.ts';

/**
 * The HTTP semantic conventions (opentelemetry.io/docs/specs/semconv/http/http-spans/) for SERVER
 * spans, shared by the gateway, the admin API and the authorization server. Query strings are never
 * recorded; paths and user agents are, with anything shaped like a Gatehouse secret replaced.
 */

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** Semconv: a method outside the known set is `_OTHER` (span names and attributes stay low-cardinality). */
export function spanMethod(method: string | undefined): string {
  return method !== undefined && KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/**
 * A path for `url.path`: without the query, secrets replaced by `{secret}` as the request log replaces
 * them (keys, client secrets and JWTs, also behind percent-encoding: a path can carry one by mistake).
 */
export const safePath = (path: string): string => pathWithoutSecrets(path, '{secret}');

/** Attributes known when a request arrives. */
export function requestAttributes(req: IncomingMessage, scheme: 'http' | 'https', clientAddress: string): Attributes {
  const method = spanMethod(req.method);
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: method,
    [ATTR_URL_SCHEME]: scheme,
    [ATTR_CLIENT_ADDRESS]: clientAddress,
    [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersion,
  };
  if (method === '_OTHER' && req.method !== undefined) attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = req.method;
  const host = hostAndPort(req.headers.host);
  if (host) {
    attributes[ATTR_SERVER_ADDRESS] = host.address;
    if (host.port !== null) attributes[ATTR_SERVER_PORT] = host.port;
  }
  const agent = req.headers['user-agent'];
  // A user agent can carry a secret too (a script's own); replaced as the request log replaces it.
  if (agent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = withoutSecrets(agent, '{secret}');
  return attributes;
}

/** `Host` as server.address and server.port (semconv: the name the client used). */
function hostAndPort(host: string | undefined): { address: string; port: number | null } | null {
  if (!host) return null;
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(host);
  if (!match) return null;
  return { address: match[1]!.replace(/^\[|\]$/g, ''), port: match[2] === undefined ? null : Number(match[2]) };
}

/** Name, route, path and status when the answer is known; 5xx is an error, 4xx is the client's (semconv, SERVER spans). */
export function endServerSpan(span: Span, res: ServerResponse, method: string, route: string | null, path: string | null, failure: string | null): void {
  if (route !== null) {
    span.updateName(`${method} ${route}`);
    span.setAttribute(ATTR_HTTP_ROUTE, route);
  }
  if (path !== null) span.setAttribute(ATTR_URL_PATH, safePath(path));
  const status = res.statusCode;
  if (res.headersSent) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  // A response cut off before its end (the client left, or the upstream broke mid-stream).
  const type = failure ?? (!res.writableFinished ? 'aborted' : status >= 500 ? String(status) : null);
  if (type !== null) span.setAttribute(ATTR_ERROR_TYPE, type);
  if (status >= 500 || (failure !== null && !res.headersSent)) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** The error class's name only: messages can quote what a client sent. */
export function errorType(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** What a control-plane handler knows once it has answered: its route template, and attributes of its own. */
export interface Answered {
  route: string | null;
  attributes?: Attributes;
}

/**
 * A SERVER span around a control-plane request (admin API, authorization server): started now,
 * current while `handle` runs (its log lines carry the ids), ended when the response closes, with
 * what `answered()` says by then.
 */
export function traceServerRequest<T>(
  tracing: Tracing,
  req: IncomingMessage,
  res: ServerResponse,
  answered: () => Answered,
  handle: () => Promise<T>,
): Promise<T> {
  const method = spanMethod(req.method);
  const scheme = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  const span = tracing.startServerSpan(method, req);
  if (!span.isRecording()) return tracing.run(span, handle);
  span.setAttributes(requestAttributes(req, scheme, unmapIpv4(req.socket.remoteAddress ?? '')));
  let failure: string | null = null;
  res.once('close', () => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const { route, attributes } = answered();
    if (attributes) span.setAttributes(attributes);
    endServerSpan(span, res, method, route, q === -1 ? url : url.slice(0, q), failure);
  });
  return tracing.run(span, handle).catch((error: unknown) => {
    failure = errorType(error);
    throw error;
  });
}
