import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import {
  createNoopMeter,
  diag,
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Attributes,
  type Context,
  type Counter,
  type DiagLogger,
  type Meter,
  type MeterProvider,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import { compileIpAllowlist, unmapIpv4 } from '../domain/ip-allowlist.ts';
import { withoutSecrets } from '../domain/secret-redaction.ts';

/** The `tracing` section of the configuration, resolved (config/schema.ts, config/otel-environment.ts). */
export interface TracingSettings {
  endpoint: string;
  /** For the collector (OTEL_EXPORTER_OTLP_HEADERS); never logged. */
  headers: Readonly<Record<string, string>>;
  serviceName: string;
  serviceVersion: string;
  resourceAttributes: Readonly<Record<string, string>>;
  sampleRatio: number;
  parentBased: boolean;
  trustIncomingTraceparentFrom: readonly string[];
  scheduledDelayMs: number;
  maxQueueSize: number;
  maxExportBatchSize: number;
  exportTimeoutMs: number;
  compression: 'none' | 'gzip';
}

type ExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

/** Where export rounds are reported: readiness lists the exporter with its last error (it never makes the node unready). */
export interface ExportReporter {
  ok(): void;
  failed(error: unknown): void;
}

/** service.version: the package's version. */
export const GATEHOUSE_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The longest attribute value kept (a user agent, a path): a client cannot make spans arbitrarily large. */
const ATTRIBUTE_VALUE_LIMIT = 1024;

const headerGetter: TextMapGetter<IncomingMessage> = {
  get: (req, key) => req.headers[key],
  keys: (req) => Object.keys(req.headers),
};
const arraySetter: TextMapSetter<string[]> = { set: (carrier, key, value) => void carrier.push(key, value) };

/** The span current in this asynchronous context: what log lines name (pino mixin, below). */
const current = new AsyncLocalStorage<Span>();

/**
 * OpenTelemetry for one Gatehouse process: a TracerProvider with a parent-based trace-id-ratio
 * sampler, a batch span processor and the OTLP/HTTP (JSON) exporter, and the W3C Trace Context
 * propagator. Nothing is registered globally (no global provider, context manager or propagator), so
 * several Gatehouses in one process (the tests) each keep their own.
 */
export class Tracing {
  readonly tracer: Tracer;
  readonly #provider: TracerProvider;
  readonly #propagator = new W3CTraceContextPropagator();
  readonly #trusted: ((ip: string) => boolean) | null;
  #dropped = 0;

  /**
   * `log`: where OpenTelemetry's own warnings and errors go (its `diag` logger, which is one per
   * thread: the last Tracing made in a thread sets it), else only to `diag`'s default, nowhere.
   */
  constructor(settings: TracingSettings, report: ExportReporter, log?: Logger) {
    if (log) diag.setLogger(new LoggedDiagnostics(log, settingsSecrets(settings)), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    const exporter = new OTLPTraceExporter({
      url: settings.endpoint,
      headers: { ...settings.headers },
      timeoutMillis: settings.exportTimeoutMs,
      compression: settings.compression as ExporterConfig['compression'],
    });
    const root = new TraceIdRatioBasedSampler(settings.sampleRatio);
    this.#provider = new TracerProvider({
      resource: defaultResource().merge(
        resourceFromAttributes({ ...settings.resourceAttributes, [ATTR_SERVICE_NAME]: settings.serviceName, [ATTR_SERVICE_VERSION]: settings.serviceVersion }),
      ),
      sampler: settings.parentBased ? new ParentBasedSampler({ root }) : root,
      spanLimits: { attributeValueLengthLimit: ATTRIBUTE_VALUE_LIMIT },
      spanProcessors: [
        new BatchSpanProcessor({
          exporter: new ReportingExporter(exporter, report),
          scheduledDelayMillis: settings.scheduledDelayMs,
          maxQueueSize: settings.maxQueueSize,
          maxExportBatchSize: settings.maxExportBatchSize,
          exportTimeoutMillis: settings.exportTimeoutMs,
          // The processor tells drops for a full queue only to diag, as one line once the queue has room
          // again; its self-observability meter counts each one as it happens.
          selfObsMeterProvider: droppedSpansMeter((n) => void (this.#dropped += n)),
        }),
      ],
    });
    this.tracer = this.#provider.getTracer('gatehouse', settings.serviceVersion);
    const trusted = settings.trustIncomingTraceparentFrom.length > 0 ? compileIpAllowlist(settings.trustIncomingTraceparentFrom) : null;
    this.#trusted = trusted ? (ip) => trusted.allows(ip) : null;
  }

  /**
   * The context a request's SERVER span starts in. A caller's `traceparent` and `tracestate` are
   * followed only when the caller (the socket's peer, whatever X-Forwarded-For says) is trusted:
   * anyone else could otherwise choose the sampling decision for its requests (sampled=1 on every
   * request fills the collector; sampled=0 hides them) and the trace id they are recorded under (joining
   * or polluting another trace). An untrusted caller's request starts a new trace, sampled by our ratio.
   */
  parentFor(req: IncomingMessage): Context {
    if (this.#trusted === null || req.headers.traceparent === undefined) return ROOT_CONTEXT;
    if (!this.#trusted(unmapIpv4(req.socket.remoteAddress ?? ''))) return ROOT_CONTEXT;
    return this.#propagator.extract(ROOT_CONTEXT, req, headerGetter);
  }

  /** A SERVER span for an incoming request, in the caller's trace when it is trusted. */
  startServerSpan(name: string, req: IncomingMessage, attributes?: Attributes): Span {
    return this.tracer.startSpan(name, { kind: SpanKind.SERVER, ...(attributes ? { attributes } : {}) }, this.parentFor(req));
  }

  /** A span under `parent`. */
  startChild(parent: Span, name: string, kind: SpanKind, attributes?: Attributes): Span {
    return this.tracer.startSpan(name, { kind, ...(attributes ? { attributes } : {}) }, trace.setSpan(ROOT_CONTEXT, parent));
  }

  /** `traceparent` (and `tracestate`) naming `span` as the parent: header names and values, alternating. */
  headersFor(span: Span): string[] {
    const out: string[] = [];
    this.#propagator.inject(trace.setSpan(ROOT_CONTEXT, span), out, arraySetter);
    return out;
  }

  /** Runs `fn` with `span` current: log lines written meanwhile (even after an await) carry its ids. */
  run<T>(span: Span, fn: () => T): T {
    return current.run(span, fn);
  }

  /** Spans dropped since start because the export queue was full (gatehouse_records_lost_total, log="spans"). */
  dropped(): number {
    return this.#dropped;
  }

  /** Sends what is queued (the graceful stop), within the export timeout. */
  shutdown(): Promise<void> {
    return this.#provider.shutdown();
  }
}

/** For pino's `mixin`: the current span's ids on every log line written while one is current (W3C hex forms). */
export function traceLogFields(): { trace_id?: string; span_id?: string; trace_flags?: string } {
  const span = current.getStore();
  if (span === undefined) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` };
}

/** The exporter, with each export's outcome reported: a collector that refuses or cannot be reached is never silent. */
class ReportingExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #report: ExportReporter;

  constructor(inner: SpanExporter, report: ExportReporter) {
    this.#inner = inner;
    this.#report = report;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.#report.ok();
      else this.#report.failed(result.error ?? new Error(`exporting ${spans.length} spans failed`));
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** The BatchSpanProcessor's counter of finished spans (semantic conventions, otel.sdk.processor.span.processed). */
const SPANS_PROCESSED = 'otel.sdk.processor.span.processed';

/**
 * A MeterProvider for the SDK's self-observability (`selfObsMeterProvider`, experimental: the pinned
 * SDK's; tracing.test.ts fails should it stop counting) that keeps only spans dropped for a full queue
 * (error.type queue_full); every other instrument is a no-op.
 */
function droppedSpansMeter(count: (spans: number) => void): MeterProvider {
  const noop = createNoopMeter();
  const meter: Meter = Object.create(noop) as Meter;
  meter.createCounter = ((name, options) =>
    name === SPANS_PROCESSED
      ? ({ add: (value, attributes) => void (attributes?.[ATTR_ERROR_TYPE] === 'queue_full' && count(value)) } satisfies Counter)
      : noop.createCounter(name, options)) as Meter['createCounter'];
  return { getMeter: () => meter };
}

/** What must never reach the log from a diagnostic: the collector's header values, the endpoint's credentials. */
function settingsSecrets(settings: TracingSettings): string[] {
  const secrets = Object.values(settings.headers);
  const url = URL.parse(settings.endpoint);
  // An endpoint that is no URL holds no credentials to hide here; the exporter reports it. Each part as
  // written and decoded, decoded apart: one that is not validly percent-encoded (`50%off`) is kept as
  // written by the URL, and its decoding failing must not leave the other part unhidden.
  if (url) for (const part of [url.username, url.password]) secrets.push(part, decodedOrSelf(part));
  // Longest first, so a secret that contains another is replaced whole.
  return [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
}

function decodedOrSelf(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** How long a diagnostic repeated word for word is counted rather than logged again. */
const REPEAT_WINDOW_MS = 60_000;

/**
 * OpenTelemetry's warnings and errors (a full export queue, a failed export) as our log lines, with
 * secrets replaced. A collector that is down fails every export, about every 5 s in each thread: the
 * same line is logged once per minute, with how many times it came meanwhile (`repeated`), so an
 * outage stays visible without filling the log. Readiness reports the failing exports as they happen.
 */
export class LoggedDiagnostics implements DiagLogger {
  readonly #log: Logger;
  readonly #secrets: readonly string[];
  readonly #now: () => number;
  /** Per line logged: when, and how many times it came since without being logged. */
  readonly #recent = new Map<string, { level: 'error' | 'warn'; text: string; at: number; repeated: number }>();

  constructor(log: Logger, secrets: readonly string[], now: () => number = () => performance.now()) {
    this.#log = log;
    this.#secrets = secrets;
    this.#now = now;
  }

  error(message: string, ...args: unknown[]): void {
    this.#write('error', this.#text(message, args));
  }

  warn(message: string, ...args: unknown[]): void {
    this.#write('warn', this.#text(message, args));
  }

  // Below warn, diag is not asked to log (setLogger's logLevel): these are never called.
  info(): void {}
  debug(): void {}
  verbose(): void {}

  #write(level: 'error' | 'warn', text: string): void {
    const now = this.#now();
    const key = `${level} ${text}`;
    const seen = this.#recent.get(key);
    if (seen && now - seen.at < REPEAT_WINDOW_MS) {
      seen.repeated++;
      return;
    }
    // Lines whose minute is over: their repeats are told now (a line that stopped coming still says how often it came).
    for (const [k, v] of this.#recent) {
      if (now - v.at < REPEAT_WINDOW_MS) continue;
      this.#recent.delete(k);
      if (v.repeated > 0 && k !== key) this.#emit(v.level, v.text, v.repeated);
    }
    this.#recent.set(key, { level, text, at: now, repeated: 0 });
    this.#emit(level, text, seen?.repeated ?? 0);
  }

  #emit(level: 'error' | 'warn', text: string, repeated: number): void {
    this.#log[level]({ component: 'opentelemetry', ...(repeated > 0 ? { repeated } : {}) }, text);
  }

  /** The message with its arguments as text (an object may be an exporter's request, headers and all): every secret replaced. */
  #text(message: string, args: unknown[]): string {
    let text = [message, ...args.map(argumentText)].join(' ');
    for (const secret of this.#secrets) text = text.split(secret).join('[REDACTED]');
    return withoutSecrets(text, '[REDACTED]');
  }
}

function argumentText(arg: unknown): string {
  if (arg instanceof Error) return `${arg.name}: ${arg.message}`;
  if (typeof arg === 'string') return arg;
  try {
    return JSON.stringify(arg) ?? String(arg);
  } catch {
    return String(arg);
  }
}
