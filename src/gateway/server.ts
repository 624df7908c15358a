import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createServer as createTlsServer, type ServerOptions as TlsServerOptions } from 'node:https';
import { unmapIpv4 } from '../domain/ip-allowlist.ts';
import { StorageUnavailableError } from '../store/port.ts';
import { createClientOriginResolver, type ClientOrigin } from './client-origin.ts';
import type { Exchange, Stage, StageResult } from './exchange.ts';
import { requestRecord, type RequestObserver, type RequestRecord } from './observer.ts';
import { renderDenial } from './render-denial.ts';

export interface GatewayServerOptions {
  pipeline: readonly (readonly [string, Stage])[];
  maxHeaderBytes: number;
  /** The caller's address and scheme (trusted proxies honoured); default: the socket's. */
  clientOrigin?: (req: IncomingMessage) => ClientOrigin;
  timeouts?: { requestMs: number; headersMs: number; keepAliveMs: number };
  maxConnections?: number;
  /** HTTPS: certificate, key, protocol settings (tls/server-tls.ts). Absent: plain HTTP. */
  tls?: TlsServerOptions;
  /** Strict-Transport-Security for answers over HTTPS (RFC 6797); null: not sent. */
  hsts?: string | null;
  clock?: () => number;
  /** Counts outcomes by code (VALID for forwarded requests); the gateway logs nothing per request. */
  onOutcome?: (code: string) => void;
  onError?: (error: unknown) => void;
  /**
   * Told about every request once its answer has gone or its client left (the response's 'close'),
   * with one record built per request; an observer that throws is reported to onError, never to the request.
   */
  observers?: readonly RequestObserver[];
}

export function createGatewayServer(options: GatewayServerOptions): Server {
  const { onOutcome, onError } = options;
  const stages = options.pipeline.map(([, stage]) => stage);
  const clock = options.clock ?? Date.now;
  const clientOrigin = options.clientOrigin ?? createClientOriginResolver([]);
  const timeouts = options.timeouts ?? { requestMs: 60_000, headersMs: 15_000, keepAliveMs: 5_000 };
  const hsts = options.hsts ?? null;
  const observers = options.observers ?? [];
  const notify = (exchange: Exchange, startedHr: number, socket: Socket, bytesWrittenAtStart: number): void => {
    let record: RequestRecord;
    try {
      record = requestRecord(exchange, startedHr, performance.now(), socket.bytesWritten - bytesWrittenAtStart);
    } catch (error) {
      return onError?.(error);
    }
    // One failing observer neither reaches the request nor keeps the others from their record.
    for (const observer of observers) {
      try {
        observer(record);
      } catch (error) {
        onError?.(error);
      }
    }
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const startedHr = observers.length > 0 ? performance.now() : 0;
    const origin = clientOrigin(req);
    if (hsts && origin.scheme === 'https') res.setHeader('Strict-Transport-Security', hsts);
    const exchange = newExchange(req, res, clock(), origin);
    if (observers.length > 0) {
      // The request lets go of its socket once answered: keep it, to count what the answer wrote.
      const socket = req.socket;
      const bytesWrittenAtStart = socket.bytesWritten;
      // 'close' follows 'finish' for an answer sent whole, and also comes when the client leaves first.
      res.once('close', () => notify(exchange, startedHr, socket, bytesWrittenAtStart));
    }
    try {
      const outcome = run(stages, 0, exchange);
      if (outcome instanceof Promise) outcome.then((denial) => finish(exchange, denial), (error: unknown) => fail(exchange, error));
      else finish(exchange, outcome);
    } catch (error) {
      fail(exchange, error);
    }
  };
  const serverOptions = {
    maxHeaderSize: options.maxHeaderBytes,
    requestTimeout: timeouts.requestMs,
    headersTimeout: timeouts.headersMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    // Node checks the request and header timeouts on this interval (30 s by default): a slow client
    // is cut off within a second of its deadline, not up to 30 s later.
    connectionsCheckingInterval: Math.min(1000, timeouts.headersMs),
  };
  const server: Server = options.tls ? createTlsServer({ ...serverOptions, ...options.tls }, listener) : createServer(serverOptions, listener);
  const finish = (exchange: Exchange, result: StageResult): void => {
    if (result && 'answered' in result) return void onOutcome?.(result.answered);
    if (result) renderDenial(exchange, result);
    onOutcome?.(result ? result.code : 'FORWARDED');
  };
  const fail = (exchange: Exchange, error: unknown): void => {
    onError?.(error);
    // A key or counter read the store could not answer: a retry may succeed, nothing was forwarded.
    if (error instanceof StorageUnavailableError) renderDenial(exchange, { code: 'STORAGE_UNAVAILABLE', detail: 'the store could not be read; retry later', retryAfterMs: 5000 });
    else renderDenial(exchange, { code: 'INTERNAL', detail: 'an unexpected gateway error' });
  };
  if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;
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

export function newExchange(req: IncomingMessage, res: ServerResponse, now: number, origin: ClientOrigin = { ip: unmapIpv4(req.socket.remoteAddress ?? ''), scheme: 'http' }): Exchange {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const incomingId = req.headers['x-request-id'];
  return {
    req,
    res,
    requestId: typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : null,
    path: q === -1 ? url : url.slice(0, q),
    query: q === -1 ? '' : url.slice(q),
    canonicalPath: '',
    ip: origin.ip,
    scheme: origin.scheme,
    now,
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
    denialCode: null,
    upstreamMs: null,
    bytesIn: null,
    traceId: null,
  };
}
