import type { Exchange, Stage } from './exchange.ts';

/**
 * Tracing, as the gateway sees it (telemetry/gateway-tracing.ts is the OpenTelemetry adapter). The
 * gateway is given one only when tracing is on; without it, no span object is made per request.
 */
export interface GatewayTracer {
  /** Starts the request's SERVER span as it arrives; the span ends when the response closes. */
  start(exchange: Exchange): RequestTrace;
  /** The stage itself, or, for the stages worth a child span (credential checks, limits, the upstream call), the stage inside one. */
  wrap(name: string, stage: Stage): Stage;
}

/** One request's trace. */
export interface RequestTrace {
  /** 32 lowercase hex digits, for the request log and log lines. */
  readonly traceId: string;
  /** W3C `traceparent` (and `tracestate`) for the upstream, naming the upstream call's span: names and values, alternating. */
  upstreamHeaders(): readonly string[];
  /** How the request ended: a denial code, FORWARDED, or what answered it. */
  outcome(code: string): void;
  /** An unexpected error ended the request. */
  failed(error: unknown): void;
  /** Runs `fn` with this request's span current, so what it logs carries trace_id and span_id. */
  run<T>(fn: () => T): T;
}
