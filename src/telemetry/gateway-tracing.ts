import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import { PROBLEMS } from '../domain/codes.ts';
import { withoutSecrets } from '../domain/secret-redaction.ts';
import type { Exchange, RoutedExchange, Stage, StageResult } from '../gateway/exchange.ts';
import type { Route } from '../gateway/route-table.ts';
import type { GatewayTracer, RequestTrace } from '../gateway/tracer.ts';
import { endServerSpan, errorType, requestAttributes, safePath, spanMethod } from './http-spans.ts';
import type { Tracing } from './tracing.ts';

/** Gatehouse's own span attributes: names and ids, never a secret. */
export const ATTR_GATEHOUSE_API = 'gatehouse.api';
export const ATTR_GATEHOUSE_KEY_ID = 'gatehouse.key_id';
export const ATTR_GATEHOUSE_APP_ID = 'gatehouse.app_id';
export const ATTR_GATEHOUSE_CLIENT_ID = 'gatehouse.client_id';
export const ATTR_GATEHOUSE_DENIAL_CODE = 'gatehouse.denial_code';
export const ATTR_GATEHOUSE_REQUEST_ID = 'gatehouse.request_id';

/** The gateway's side of tracing: a SERVER span per request, child spans for the stages that check, count or call out. */
export function gatewayTracer(tracing: Tracing): GatewayTracer {
  return {
    start: (exchange) => new GatewayRequestTrace(tracing, exchange),
    wrap: (name, stage) => {
      const child = CHILD_SPANS[name];
      return child ? traced(tracing, name, child, stage) : stage;
    },
  };
}

class GatewayRequestTrace implements RequestTrace {
  readonly span: Span;
  readonly traceId: string;
  /** Sampled out: no child spans, nothing recorded; the upstream still learns the trace and the decision. */
  readonly recording: boolean;
  /** The upstream call's CLIENT span, once it starts: the parent the upstream is told about. */
  upstream: Span | null = null;
  readonly #tracing: Tracing;
  readonly #method: string;
  #code: string | null = null;
  #failure: string | null = null;

  constructor(tracing: Tracing, exchange: Exchange) {
    this.#tracing = tracing;
    this.#method = spanMethod(exchange.req.method);
    this.span = tracing.startServerSpan(this.#method, exchange.req);
    this.traceId = this.span.spanContext().traceId;
    this.recording = this.span.isRecording();
    if (!this.recording) return;
    this.span.setAttributes(requestAttributes(exchange.req, exchange.scheme, exchange.ip));
    exchange.res.once('close', () => this.#end(exchange));
  }

  upstreamHeaders(): readonly string[] {
    return this.#tracing.headersFor(this.upstream ?? this.span);
  }

  outcome(code: string): void {
    this.#code = code;
  }

  failed(error: unknown): void {
    this.#failure = errorType(error);
  }

  run<T>(fn: () => T): T {
    return this.#tracing.run(this.span, fn);
  }

  #end(exchange: Exchange): void {
    const { span } = this;
    const { route } = exchange;
    if (route) span.setAttribute(ATTR_GATEHOUSE_API, route.api.name);
    const key = exchange.verification ?? exchange.parentKey;
    if (key) span.setAttributes({ [ATTR_GATEHOUSE_KEY_ID]: key.keyId, [ATTR_GATEHOUSE_APP_ID]: key.appId });
    const clientId = exchange.tokenVerification?.claims.client_id;
    if (typeof clientId === 'string') span.setAttribute(ATTR_GATEHOUSE_CLIENT_ID, clientId);
    const code = this.#code;
    const denied = code !== null && Object.hasOwn(PROBLEMS, code);
    if (denied) span.setAttribute(ATTR_GATEHOUSE_DENIAL_CODE, code);
    // An X-Request-Id holding a key or JWT is not adopted (gateway/server.ts); replaced here too, as the request log does.
    if (exchange.requestId !== null) span.setAttribute(ATTR_GATEHOUSE_REQUEST_ID, withoutSecrets(exchange.requestId, '{secret}'));
    // A 5xx denial names its code as the error type (UPSTREAM_TIMEOUT says more than 504).
    const failure = this.#failure ?? (denied && exchange.res.statusCode >= 500 ? code : null);
    endServerSpan(
      span,
      exchange.res,
      this.#method,
      route ? (exchange.requirement?.route ?? route.api.listenPath) : null,
      exchange.canonicalPath === '' ? null : exchange.canonicalPath,
      failure,
    );
  }
}

interface ChildSpan {
  kind: SpanKind;
  /** Whether the stage has work to do for this request: a stage that passes a request by gets no span. */
  applies(exchange: RoutedExchange): boolean;
  /** What the span records before the stage runs (the CLIENT span's upstream). */
  begin?(span: Span, exchange: RoutedExchange, trace: GatewayRequestTrace): void;
  /** What it records from the stage's result. */
  end(span: Span, exchange: RoutedExchange, result: StageResult): void;
}

/** A denial ends the check; the span says which, as data: it is an answer, not a fault. */
const recordDenial = (span: Span, result: StageResult): void => {
  if (result && 'code' in result) span.setAttribute(ATTR_GATEHOUSE_DENIAL_CODE, result.code);
};

const CHILD_SPANS: Readonly<Record<string, ChildSpan>> = {
  'verify-key': {
    kind: SpanKind.INTERNAL,
    applies: (e) => e.requirement.needsKey,
    end: (span, e, result) => {
      if (e.verification) span.setAttributes({ [ATTR_GATEHOUSE_KEY_ID]: e.verification.keyId, [ATTR_GATEHOUSE_APP_ID]: e.verification.appId });
      recordDenial(span, result);
    },
  },
  'verify-token': {
    kind: SpanKind.INTERNAL,
    applies: (e) => e.requirement.needsToken,
    end: (span, e, result) => {
      const clientId = e.tokenVerification?.claims.client_id;
      if (typeof clientId === 'string') span.setAttribute(ATTR_GATEHOUSE_CLIENT_ID, clientId);
      recordDenial(span, result);
    },
  },
  'parent-key': {
    kind: SpanKind.INTERNAL,
    applies: (e) => e.tokenVerification?.claims.key_id !== undefined,
    end: (span, e, result) => {
      if (e.parentKey) span.setAttributes({ [ATTR_GATEHOUSE_KEY_ID]: e.parentKey.keyId, [ATTR_GATEHOUSE_APP_ID]: e.parentKey.appId });
      recordDenial(span, result);
    },
  },
  'identity-limits': {
    kind: SpanKind.INTERNAL,
    applies: (e) => e.requirement.rateLimits.length > 0,
    end: (span, _e, result) => recordDenial(span, result),
  },
  forward: {
    kind: SpanKind.CLIENT,
    applies: () => true,
    begin: (span, e, trace) => {
      const upstream = upstreamOf(e.route);
      // The upstream URL without the query string: its values may be anything the caller sent.
      span.setAttributes({
        [ATTR_HTTP_REQUEST_METHOD]: spanMethod(e.req.method),
        [ATTR_SERVER_ADDRESS]: upstream.address,
        [ATTR_SERVER_PORT]: upstream.port,
        [ATTR_URL_FULL]: e.route.origin + safePath(e.route.basePath + e.apiPath),
      });
      trace.upstream = span;
    },
    end: (span, e, result) => {
      if (result && 'code' in result) {
        span.setAttributes({ [ATTR_GATEHOUSE_DENIAL_CODE]: result.code, [ATTR_ERROR_TYPE]: result.code });
        span.setStatus({ code: SpanStatusCode.ERROR });
      } else if (e.res.headersSent) {
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, e.res.statusCode);
        // Semconv, CLIENT spans: any status of 400 or more is an error of the call.
        if (e.res.statusCode >= 400) span.setAttributes({ [ATTR_ERROR_TYPE]: String(e.res.statusCode) }).setStatus({ code: SpanStatusCode.ERROR });
      }
    },
  },
};

/** An upstream's host and port, parsed once per route (the route table is rebuilt when an API changes). */
const upstreams = new WeakMap<Route, { address: string; port: number }>();
function upstreamOf(route: Route): { address: string; port: number } {
  let found = upstreams.get(route);
  if (!found) {
    const url = new URL(route.origin);
    found = { address: url.hostname, port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) };
    upstreams.set(route, found);
  }
  return found;
}

/** The stage inside a child span of the request's span, for requests that are recorded and that the stage has work for. */
function traced(tracing: Tracing, name: string, child: ChildSpan, stage: Stage): Stage {
  return (exchange) => {
    const trace = exchange.trace;
    const routed = exchange as RoutedExchange;
    if (!(trace instanceof GatewayRequestTrace) || !trace.recording || !child.applies(routed)) return stage(exchange);
    const span = tracing.startChild(trace.span, child.kind === SpanKind.CLIENT ? spanMethod(exchange.req.method) : name, child.kind);
    child.begin?.(span, routed, trace);
    const settle = (result: StageResult): StageResult => {
      child.end(span, routed, result);
      span.end();
      return result;
    };
    const fail = (error: unknown): never => {
      span.setAttribute(ATTR_ERROR_TYPE, errorType(error)).setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw error;
    };
    let result: ReturnType<Stage>;
    try {
      result = stage(exchange);
    } catch (error) {
      return fail(error);
    }
    return result instanceof Promise ? result.then(settle, fail) : settle(result);
  };
}
