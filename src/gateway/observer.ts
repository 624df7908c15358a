import type { Exchange } from './exchange.ts';

/**
 * What the gateway knows about one request once its answer has gone (or the client left): handed
 * to every observer (metrics, traces, the request log). Built once per request from the exchange;
 * observers must not keep more than they need, and never anything secret: the record carries no
 * credential, and the query string only for observers that decide to keep it (the request log
 * does not, unless the API opts in, and removes credentials even then).
 */
export interface RequestRecord {
  /** When the request arrived: the gateway's clock (epoch ms), the one `exchange.now` holds. */
  startedAt: number;
  /** From arrival to the end of the answer (monotonic clock), milliseconds. */
  durationMs: number;
  apiId: string | null;
  /** The API's name. */
  api: string | null;
  /** The route template: the listen path, plus the matched rule's path pattern when one matched. */
  route: string | null;
  method: string;
  /** The canonical path (the raw path when it was refused as not canonical), without the query string. */
  path: string;
  /** The query string as sent, with its `?` ('' for none). May hold credentials: observers filter it. */
  query: string;
  /** The status the client got; 0 when the connection closed before any answer was sent. */
  status: number;
  /** The denial's code (domain/codes.ts); null for a forwarded request or an answered preflight. */
  denialCode: string | null;
  /** From sending to the upstream to its answer's head (or failure); null when nothing was forwarded. */
  upstreamMs: number | null;
  /** Request body bytes: Content-Length, or counted as a chunked body was forwarded. */
  bytesIn: number;
  /** Bytes written to the connection for this answer, head included. */
  bytesOut: number;
  /** The key that made the request: verified, or refused but known to us (revoked, over its limit...). */
  keyId: string | null;
  appId: string | null;
  /** The access token's `sub` and `client_id`, once the token was verified. */
  user: string | null;
  clientId: string | null;
  /** The caller's address (trusted proxies honoured). */
  ip: string;
  userAgent: string | null;
  /** The caller's X-Request-Id when it sent a sane one, else the id a denial assigned, else null. */
  requestId: string | null;
  /** The W3C trace id when tracing gave the request one. */
  traceId: string | null;
}

/** Called after the answer finished; must be cheap and must not throw (the server catches and reports). */
export type RequestObserver = (record: RequestRecord) => void;

/**
 * The record of a finished exchange. `startedHr` was read when it arrived and `endedHr` at its end:
 * two reads of the monotonic clock per request. `bytesOut`: what the connection wrote in between.
 */
export function requestRecord(exchange: Exchange, startedHr: number, endedHr: number, bytesOut: number): RequestRecord {
  const { req, res, route } = exchange;
  const key = exchange.verification ?? exchange.refusedKey ?? exchange.parentKey;
  const claims = exchange.tokenVerification?.claims;
  const agent = req.headers['user-agent'];
  return {
    startedAt: exchange.now,
    durationMs: endedHr - startedHr,
    apiId: route?.api.id ?? null,
    api: route?.api.name ?? null,
    route: route ? (exchange.requirement?.pattern ? route.api.listenPath + exchange.requirement.pattern : route.api.listenPath) : null,
    method: req.method ?? 'GET',
    path: exchange.canonicalPath || exchange.path,
    query: exchange.query,
    status: res.headersSent ? res.statusCode : 0,
    denialCode: exchange.denialCode,
    upstreamMs: exchange.upstreamMs,
    bytesIn: exchange.bytesIn ?? declaredLength(req.headers['content-length']),
    bytesOut,
    keyId: key?.keyId ?? null,
    appId: key?.appId ?? null,
    user: claims?.sub ?? null,
    clientId: typeof claims?.client_id === 'string' ? claims.client_id : null,
    ip: exchange.ip,
    userAgent: typeof agent === 'string' ? agent : null,
    requestId: exchange.requestId,
    traceId: exchange.traceId,
  };
}

function declaredLength(value: string | undefined): number {
  const n = value === undefined ? 0 : Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}
