import type { ProblemCode } from '../domain/codes.ts';

/**
 * What the gateway knows about one request once its answer is over: the one shape every per-request
 * consumer (metrics, traces, the request log) reads, so the server has a single hook. No credential
 * and no header value but the user agent; the query string only as sent, for observers that decide to
 * keep it (the request log does not, unless the API opts in, and removes credentials even then).
 */
export interface RequestRecord {
  /** When the request arrived: epoch milliseconds on the gateway's clock (the injected one in tests). */
  startedAt: number;
  /**
   * Arrival to the end of the answer, from two reads of the monotonic clock (performance.now): one as
   * the request arrives, one when the response is over (its 'close', a tick after 'finish', or the
   * connection closing first).
   */
  durationMs: number;
  /** The API's name and id; null when no API matched (or the request was refused before routing). */
  api: string | null;
  apiId: string | null;
  /**
   * The route template: the listen path followed by the pattern of the API's rule that matched
   * (`/orders/items/*`), or the listen path alone when no rule with paths matched. Never the request's
   * own path, so it is safe as a metric label. Null when no API matched.
   */
  route: string | null;
  /** The request method as sent (metrics fold unknown methods into `_OTHER`). */
  method: string;
  /** The canonical path (or the path as sent, when it was refused before it had one); no query string. */
  path: string;
  /** The query string as sent, with its `?` ('' for none). May hold credentials: observers filter it. */
  query: string;
  /** The status sent; 0 when the connection closed before any answer was sent. */
  status: number;
  /**
   * How the gateway ended the request: `FORWARDED`, the code of a stage that answered itself
   * (`PREFLIGHT`), or the denial code. Null only if the connection closed while a stage was still waiting.
   */
  outcome: string | null;
  /** The denial's code (domain/codes.ts) when the gateway refused the request, else null. */
  denialCode: ProblemCode | null;
  /** Upstream latency: from sending the request upstream to its answer's head (or the failure); null when not forwarded. */
  upstreamMs: number | null;
  /** Request body bytes read from the client; response body bytes written to it (Content-Length or counted). */
  bytesIn: number;
  bytesOut: number;
  /** The API key that made the request, verified or refused (a key that is not ours names nothing), and its app. */
  keyId: string | null;
  appId: string | null;
  /** A verified access token's subject and client. */
  user: string | null;
  clientId: string | null;
  /** The client address (a trusted proxy's X-Forwarded-For honoured). */
  ip: string;
  userAgent: string | null;
  /** The caller's X-Request-Id when it sent a sane one holding no secret (else ours), else the id a denial assigned, else null. */
  requestId: string | null;
  /** The W3C trace id, when tracing set one on the exchange. */
  traceId: string | null;
  /** The connection closed before the whole answer was written (client gone, upstream failed mid-body). */
  aborted: boolean;
}

/**
 * Called once per request after its answer is over. It runs on the event loop after every request, so
 * it must be cheap (no store writes, no I/O, nothing that grows per request); it must not throw (the
 * server catches and reports a throw, and the other observers still run).
 */
export type RequestObserver = (record: RequestRecord) => void;
