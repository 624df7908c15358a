import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Exchange, StageResult } from '../exchange.ts';
import { BODY_TOO_LARGE } from './body-limit.ts';

const DROP_RESPONSE = new Set([
  // RFC 9110 §7.6.1 hop-by-hop fields.
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // Gatehouse's own RateLimit fields replace any the upstream sent.
  'ratelimit',
  'ratelimit-policy',
]);

/** The upstream call answering a response, for the shared 'close' listener. */
const CALL = Symbol('upstream call');
type AnsweringResponse = Exchange['res'] & { [CALL]?: UpstreamAnswer };
function clientClosed(this: AnsweringResponse): void {
  this[CALL]?.clientClosed();
}

const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** What a failed call's denial names: the API (its name and timeout). */
interface CalledApi {
  readonly name: string;
  readonly timeoutMs: number;
}

/**
 * One upstream call, as undici's dispatch handler: the upstream's answer is written into the client's
 * response as it arrives, and the forward stage's promise settles once with `undefined` (answered) or
 * the denial for a call that failed before an answer began. A handler rather than undici's `stream()`,
 * which adds per request an AsyncResource, three listeners on the response and closures for each: the
 * same work with less of it on the hot path (issue 14). Backpressure both ways: a response that cannot
 * take more pauses the upstream until it drains; a client that leaves aborts the upstream call.
 */
export class UpstreamAnswer implements Dispatcher.DispatchHandler {
  readonly #exchange: Exchange;
  readonly #api: CalledApi;
  readonly #maxBodyBytes: number;
  #settle: ((result: StageResult) => void) | null;
  /** Upstream latency runs from here to the answer's head (or the failure), not the client's reading of the body; monotonic. */
  readonly #sentAt = performance.now();
  #controller: Dispatcher.DispatchController | null = null;
  /** The client's connection closed before the answer was over: the call is of no more use. */
  #clientGone = false;

  constructor(exchange: Exchange, api: CalledApi, maxBodyBytes: number, body: Readable | null, settle: (result: StageResult) => void) {
    this.#exchange = exchange;
    this.#api = api;
    this.#maxBodyBytes = maxBodyBytes;
    this.#settle = settle;
    // The client may leave before the answer is over, also before its head: then the upstream call
    // ends at once, rather than holding a pooled connection (and the upstream's work) until it answers.
    // One shared listener, which finds this call on the response: no closure per request.
    (exchange.res as AnsweringResponse)[CALL] = this;
    exchange.res.on('close', clientClosed);
    // A body that fails (a chunked one over the limit) ends the call, also one undici has not started.
    body?.on('error', (error) => {
      this.#controller?.abort(error);
      this.onResponseError(this.#controller, error);
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#clientGone) controller.abort(new Error('the client closed the connection'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx answers are interim (RFC 9110 §15.2): the final one follows on the same call.
    if (statusCode < 200) return;
    const exchange = this.#exchange;
    const { res } = exchange;
    exchange.upstreamMs = performance.now() - this.#sentAt;
    res.writeHead(statusCode, responseHeaders(headers, exchange));
  }

  /** The client's connection closed: abort the upstream call unless its answer is over. */
  clientClosed(): void {
    if (this.#settle === null) return;
    this.#clientGone = true;
    this.#controller?.abort(new Error('the client closed the connection'));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const { res } = this.#exchange;
    if (!res.write(chunk) && !res.destroyed) {
      controller.pause();
      res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.#exchange.res.end();
    this.#done(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error & { code?: string }): void {
    if (this.#settle === null) return;
    const exchange = this.#exchange;
    exchange.upstreamMs ??= performance.now() - this.#sentAt;
    // Part of an answer was sent: the client must not take it for a whole one. Or the client left,
    // and nobody is there to take a denial: the record says so (status 0, aborted).
    if (exchange.res.headersSent || this.#clientGone) {
      exchange.res.destroy();
      return this.#done(undefined);
    }
    this.#done(upstreamFailure(error, this.#api, this.#maxBodyBytes));
  }

  #done(result: StageResult): void {
    const settle = this.#settle;
    this.#settle = null;
    settle?.(result);
  }
}

function upstreamFailure(error: Error & { code?: string }, api: CalledApi, maxBodyBytes: number): StageResult {
  const { code } = error;
  if (code === BODY_TOO_LARGE || (error.cause as { code?: string } | undefined)?.code === BODY_TOO_LARGE) {
    return { code: 'BODY_TOO_LARGE', detail: `the body may be at most ${maxBodyBytes} bytes` };
  }
  return code !== undefined && TIMEOUTS.has(code)
    ? { code: 'UPSTREAM_TIMEOUT', detail: `the upstream of ${api.name} did not answer within ${api.timeoutMs} ms` }
    : { code: 'UPSTREAM_UNAVAILABLE', detail: `the upstream of ${api.name} could not be reached` };
}

/** The upstream's answer without hop-by-hop fields; Gatehouse's own RateLimit fields replace any it sent. */
function responseHeaders(upstream: IncomingHttpHeaders, exchange: Exchange): IncomingHttpHeaders {
  const connectionTokens = typeof upstream.connection === 'string' ? listedInConnection(upstream.connection) : null;
  const out: IncomingHttpHeaders = {};
  for (const name in upstream) {
    if (!DROP_RESPONSE.has(name) && !connectionTokens?.includes(name)) out[name] = upstream[name];
  }
  const limits = exchange.rateLimitHeaders;
  if (limits) ((out['ratelimit-policy'] = limits.policy), (out.ratelimit = limits.state));
  // writeHead's fields replace those set before it: the CORS stage's `Vary: Origin` must join the upstream's Vary.
  const own = exchange.res.getHeader('vary');
  // Two or more Vary lines come as an array (undici): one list (RFC 9110 §5.3).
  const theirs = Array.isArray(out.vary) ? out.vary.join(', ') : out.vary;
  if (typeof own === 'string' && typeof theirs === 'string') out.vary = joinedVary(theirs, own);
  return out;
}

/** The upstream's Vary with the gateway's fields added (RFC 9110 §12.5.5); `*` already varies by everything. */
function joinedVary(upstream: string, own: string): string {
  const listed = upstream
    .toLowerCase()
    .split(',')
    .map((t) => t.trim());
  if (listed.includes('*')) return upstream;
  const missing = own
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '' && !listed.includes(t.toLowerCase()));
  return missing.length === 0 ? upstream : `${upstream}, ${missing.join(', ')}`;
}

/**
 * The fields a Connection value names (RFC 9110 §7.6.1), lower-case; null when it names only fields
 * dropped anyway: nearly every upstream sends just `keep-alive` or `close`, read without an array.
 */
function listedInConnection(value: string): string[] | null {
  const single = value.length <= 10 ? value.toLowerCase() : '';
  if (single === 'keep-alive' || single === 'close') return null;
  return value
    .toLowerCase()
    .split(',')
    .map((t) => t.trim());
}
