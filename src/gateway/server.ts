import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import { createServer as createTlsServer, type ServerOptions as TlsServerOptions } from 'node:https';
import { unmapIpv4 } from '../domain/ip-allowlist.ts';
import { holdsSecret } from '../domain/secret-redaction.ts';
import { capConnections, DEFAULT_CONNECTION_LIMITS, limitedServerOptions, type ConnectionLimits } from '../http/connection-limits.ts';
import { answerPlainHttp } from '../http/plain-http-on-tls.ts';
import { StorageUnavailableError } from '../store/port.ts';
import { LimiterUnavailableError } from '../limits/port.ts';
import { createClientOriginResolver, type ClientOrigin } from './client-origin.ts';
import type { Denial, Exchange, Stage, StageResult } from './exchange.ts';
import type { RequestObserver, RequestRecord } from './observer.ts';
import type { InProgress } from './in-progress.ts';
import { answerProbe, isProbePath, type Readiness } from './probes.ts';
import { renderDenial } from './render-denial.ts';
import { nextRequestId } from './request-id.ts';
import type { GatewayTracer } from './tracer.ts';
import { httpsRequired, plainHttpServer } from './redirect-server.ts';
import type { OnExposed } from './stages/transport.ts';

export interface GatewayServerOptions {
  pipeline: readonly (readonly [string, Stage])[];
  /** Head size, timeouts and open connections per client; default: DEFAULT_CONNECTION_LIMITS. */
  limits?: ConnectionLimits;
  /** The caller's address and scheme (trusted proxies honoured); default: the socket's. */
  clientOrigin?: (req: IncomingMessage) => ClientOrigin;
  /**
   * HTTPS: certificate, key, protocol settings (tls/server-tls.ts). Absent: plain HTTP. A plain-HTTP
   * request sent to the HTTPS port is answered as the redirect listener answers one with credentials
   * (refused, its API key reported through `onPlainHttpExposed`), else 400 HTTPS_REQUIRED: never the pipeline.
   */
  tls?: TlsServerOptions;
  /** With `tls`: an API key seen in a plain-HTTP request to the HTTPS port (gateway/redirect-server.ts). */
  onPlainHttpExposed?: OnExposed;
  /** Strict-Transport-Security for answers over HTTPS (RFC 6797); null: not sent. */
  hsts?: string | null;
  clock?: () => number;
  /** Counts outcomes by code (FORWARDED for forwarded requests); the gateway logs nothing per request. */
  onOutcome?: (code: string) => void;
  /**
   * Called with each request's record once its answer is over (metrics, traces, the request log); a
   * throw is reported through onError and never reaches the request. None: no per-request bookkeeping.
   */
  observers?: readonly RequestObserver[];
  /**
   * `/livez` and `/readyz` answered on this listener before routing, without credentials (probes.ts);
   * null: those paths are routed like any other (an API may be published there).
   */
  readiness?: (() => Readiness) | null;
  onError?: (error: unknown) => void;
  /** OpenTelemetry spans per request (telemetry/gateway-tracing.ts); absent: tracing is off and costs nothing. */
  tracer?: GatewayTracer;
  /** Told of each request (probes aside) as it arrives and once it is settled and observed: what a shutdown waits for. */
  inProgress?: InProgress;
}

/** A request that counts the body bytes Node's parser hands over, for the request record. */
class CountingRequest extends IncomingMessage {
  bodyBytes = 0;
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk !== null) this.bodyBytes += (chunk as Uint8Array).byteLength;
    return super.push(chunk, encoding);
  }
}

/**
 * A response that counts the body bytes written to it, by the upstream's stream or a denial, and
 * knows its exchange, so one shared 'close' listener serves every request (no closure per request).
 */
class CountingResponse extends ServerResponse {
  bodyBytes = 0;
  exchange: Exchange | null = null;
  /** The connection closed before any answer was sent: a head written later (the upstream's, after the client left) never reached it. */
  unansweredAtClose = false;
  // Explicit parameters, not rest and spread (no array per call): Node reads an undefined encoding or
  // callback as one not given.
  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    this.bodyBytes += byteLength(chunk, encoding);
    return (super.write as (c: unknown, e: unknown, cb: unknown) => boolean)(chunk, encoding, callback);
  }
  override end(chunk?: unknown, encoding?: unknown, callback?: unknown): this {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') this.bodyBytes += byteLength(chunk, encoding);
    return (super.end as (c: unknown, e: unknown, cb: unknown) => this)(chunk, encoding, callback);
  }
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

export function createGatewayServer(options: GatewayServerOptions): Server {
  const { onOutcome, onError } = options;
  const { tracer } = options;
  const stages = options.pipeline.map(([name, stage]) => (tracer ? tracer.wrap(name, stage) : stage));
  const clock = options.clock ?? Date.now;
  const clientOrigin = options.clientOrigin ?? createClientOriginResolver([]);
  const limits = options.limits ?? DEFAULT_CONNECTION_LIMITS;
  const hsts = options.hsts ?? null;
  const readiness = options.readiness ?? null;
  const observers = options.observers ?? [];
  const observing = observers.length > 0;
  const inProgress = options.inProgress ?? null;

  /** Hands the finished request to every observer: once both the pipeline and the answer are over. */
  const observe = (exchange: Exchange): void => {
    const record = requestRecord(exchange);
    for (const observer of observers) {
      try {
        observer(record);
      } catch (error) {
        onError?.(error);
      }
    }
    inProgress?.end(exchange.res);
  };
  // The answer is over ('close': a tick after 'finish', or the connection went first). The pipeline may
  // still be waiting (a client that left during the upstream call): then `settle` observes when it ends.
  const closed = function (this: CountingResponse): void {
    const exchange = this.exchange!;
    exchange.endedAt = performance.now();
    this.unansweredAtClose = !this.headersSent;
    if (exchange.outcome !== null) observe(exchange);
  };
  // Called after the answer is written: should writing it close the response at once, `closed` finds
  // no outcome yet and this observes, so each request is observed exactly once.
  const settle = (exchange: Exchange, outcome: string, denial: Denial | null): void => {
    exchange.outcome = outcome;
    exchange.denialCode = denial === null ? null : denial.code;
    exchange.trace?.outcome(outcome);
    onOutcome?.(outcome);
    if (!observing) inProgress?.end(exchange.res);
    else if (exchange.endedAt !== null) observe(exchange);
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const arrivedAt = performance.now();
    if (readiness !== null && isProbePath(req.url)) return answerProbe(req, res, readiness());
    const origin = clientOrigin(req);
    if (hsts && origin.scheme === 'https') res.setHeader('Strict-Transport-Security', hsts);
    const exchange = newExchange(req, res, clock(), origin, arrivedAt);
    inProgress?.begin(res);
    if (tracer) {
      exchange.trace = tracer.start(exchange);
      exchange.traceId = exchange.trace.traceId;
    }
    if (observing) {
      (res as CountingResponse).exchange = exchange;
      res.on('close', closed);
    }
    try {
      const outcome = run(stages, 0, exchange);
      if (outcome instanceof Promise)
        outcome.then(
          (denial) => finish(exchange, denial),
          (error: unknown) => fail(exchange, error),
        );
      else finish(exchange, outcome);
    } catch (error) {
      fail(exchange, error);
    }
  };
  const serverOptions = {
    ...limitedServerOptions(limits),
    // Body bytes are counted for the observers only; without any, Node's own classes.
    ...(observing ? { IncomingMessage: CountingRequest as typeof IncomingMessage, ServerResponse: CountingResponse as typeof ServerResponse } : {}),
  };
  let server: Server;
  if (options.tls) {
    const tlsServer = createTlsServer({ ...serverOptions, ...options.tls }, listener);
    const plain = plainHttpServer(limits, options.onPlainHttpExposed ?? (() => {}), httpsRequired);
    // The TLS handshake timeout: what a client that connects and sends nothing has always been given.
    answerPlainHttp(tlsServer, plain, limits.headersMs);
    server = capConnections(tlsServer, limits);
  } else server = capConnections(createServer(serverOptions, listener), limits);
  const finish = (exchange: Exchange, result: StageResult): void => {
    if (result && 'answered' in result) return settle(exchange, result.answered, null);
    if (result) renderDenial(exchange, result);
    settle(exchange, result ? result.code : 'FORWARDED', result ?? null);
  };
  const fail = (exchange: Exchange, error: unknown): void => {
    const { trace } = exchange;
    if (trace) {
      trace.failed(error);
      trace.run(() => onError?.(error));
    } else onError?.(error);
    // A key or counter read the store could not answer, or a limit that could not be counted: a retry
    // may succeed, nothing was forwarded.
    const denial: Denial =
      error instanceof StorageUnavailableError
        ? { code: 'STORAGE_UNAVAILABLE', detail: 'the store could not be read; retry later', retryAfterMs: 5000 }
        : error instanceof LimiterUnavailableError
          ? { code: 'LIMITS_UNAVAILABLE', detail: 'a limit of this request could not be counted; retry later', retryAfterMs: 1000 }
          : { code: 'INTERNAL', detail: 'an unexpected gateway error' };
    renderDenial(exchange, denial);
    settle(exchange, denial.code, denial);
  };
  return server;
}

/**
 * Runs the stages in order, synchronously until one answers with a Promise; only then does the rest
 * continue asynchronously. Most stages never wait, so most requests make no promise here.
 */
function run(stages: readonly Stage[], from: number, exchange: Exchange): StageResult | Promise<StageResult> {
  for (let i = from; i < stages.length; i++) {
    const result = stages[i]!(exchange);
    if (result instanceof Promise) {
      // The last stage's promise is the answer itself: no extra hop.
      return i === stages.length - 1 ? result : result.then((denial) => (denial ? denial : run(stages, i + 1, exchange)));
    }
    if (result) return result;
  }
  return undefined;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * The caller's X-Request-Id when it is sane and no secret; null when none was sent (a denial or the
 * request log assigns one then). A key or JWT sent there (in the wrong header) is not adopted: it
 * would be echoed in the answer, forwarded upstream and recorded, so the request gets our own id.
 */
function adoptedRequestId(incoming: string | string[] | undefined): string | null {
  if (typeof incoming !== 'string' || !REQUEST_ID.test(incoming)) return null;
  return holdsSecret(incoming) ? nextRequestId() : incoming;
}

export function newExchange(
  req: IncomingMessage,
  res: ServerResponse,
  now: number,
  origin: ClientOrigin = { ip: unmapIpv4(req.socket.remoteAddress ?? ''), scheme: 'http' },
  arrivedAt: number = performance.now(),
): Exchange {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return {
    req,
    res,
    requestId: adoptedRequestId(req.headers['x-request-id']),
    path: q === -1 ? url : url.slice(0, q),
    query: q === -1 ? '' : url.slice(q),
    canonicalPath: '',
    ip: origin.ip,
    scheme: origin.scheme,
    now,
    arrivedAt,
    route: null,
    apiPath: '/',
    requirement: null,
    credential: null,
    verification: null,
    token: null,
    tokenScheme: 'bearer',
    tokenVerification: null,
    parentKey: null,
    identityJwt: null,
    rateLimitHeaders: null,
    refusedKey: null,
    upstreamMs: null,
    traceId: null,
    outcome: null,
    denialCode: null,
    endedAt: null,
    trace: null,
  };
}

/** HEAD answers, and 1xx, 204 and 304 answers, carry no body whatever was written (RFC 9110 §6.4.1). */
const bodyless = (method: string | undefined, status: number): boolean => method === 'HEAD' || status === 204 || status === 304 || status < 200;

/** The request as observers see it (observer.ts): facts only, read once, nothing secret. */
export function requestRecord(exchange: Exchange): RequestRecord {
  const { req, res, route, requirement } = exchange;
  // Who made the request: the key sent with it, else the parent key of an exchanged token, else a key that was refused.
  const key = exchange.verification ?? exchange.parentKey ?? exchange.refusedKey;
  const claims = exchange.tokenVerification?.claims ?? null;
  const userAgent = req.headers['user-agent'];
  const status = res.headersSent && (res as CountingResponse).unansweredAtClose !== true ? res.statusCode : 0;
  return {
    startedAt: exchange.now,
    durationMs: (exchange.endedAt ?? performance.now()) - exchange.arrivedAt,
    api: route === null ? null : route.api.name,
    apiId: route === null ? null : route.api.id,
    route: requirement !== null ? requirement.route : route === null ? null : route.api.listenPath,
    method: req.method ?? 'GET',
    path: exchange.canonicalPath === '' ? exchange.path : exchange.canonicalPath,
    query: exchange.query,
    status,
    outcome: exchange.outcome,
    denialCode: exchange.denialCode,
    upstreamMs: exchange.upstreamMs,
    bytesIn: (req as CountingRequest).bodyBytes ?? 0,
    bytesOut: bodyless(req.method, status) ? 0 : ((res as CountingResponse).bodyBytes ?? 0),
    keyId: key === null ? null : key.keyId,
    appId: key === null ? null : key.appId,
    user: claims === null ? null : claims.sub,
    clientId: typeof claims?.client_id === 'string' ? claims.client_id : null,
    ip: exchange.ip,
    userAgent: typeof userAgent === 'string' ? userAgent : null,
    requestId: exchange.requestId,
    traceId: exchange.traceId,
    aborted: !res.writableFinished,
  };
}
