import type { Server } from 'node:http';
import type pino from 'pino';
import type { Config } from './config/load.ts';
import type { ChangeBus } from './events/change-bus.ts';
import { createClientOriginResolver } from './gateway/client-origin.ts';
import type { Stage } from './gateway/exchange.ts';
import type { Readiness } from './gateway/probes.ts';
import type { IdentityJwtSigner } from './gateway/identity-jwt.ts';
import type { RequestObserver } from './gateway/observer.ts';
import { buildPipeline } from './gateway/pipeline.ts';
import { RouteTable } from './gateway/route-table.ts';
import { closeAfterAnswers, InProgress } from './gateway/in-progress.ts';
import { createGatewayServer } from './gateway/server.ts';
import { dpopProofCheck } from './gateway/stages/dpop-proof.ts';
import type { OnExposed } from './gateway/stages/transport.ts';
import { Upstreams } from './gateway/upstreams.ts';
import type { CounterUsage } from './limits/identity-limits.ts';
import type { Limiter, Throttle } from './limits/port.ts';
import { UsageAnalytics, type UsageAnalyticsSink } from './usage/analytics.ts';
import { RequestLog, type RequestLogSink } from './requests/request-log.ts';
import type { Store } from './store/port.ts';
import type { HealthReporter } from './telemetry/health.ts';
import type { GatehouseMetrics } from './telemetry/metrics.ts';
import type { Tracing } from './telemetry/tracing.ts';
import { connectionLimitsOf } from './http/connection-limits.ts';
import { checkedTlsOptions } from './tls/server-tls.ts';
import type { SecretFileWarning } from './config/file-modes.ts';
import type { UsageMeter } from './usage/port.ts';
import type { DpopVerifier } from './verification/dpop.ts';
import { TokenIntrospector } from './verification/introspection.ts';
import type { TrustedIssuer } from './verification/issuers.ts';
import { KeyVerifier } from './verification/key-verifier.ts';
import type { KeyChecker } from './verification/port.ts';
import type { RevocationList } from './verification/revocation-list.ts';
import { TokenVerifier } from './verification/token-verifier.ts';
import { retriedTask } from './telemetry/retried-task.ts';

/**
 * The parts below are built the same way on the main thread and in each gateway worker; only where
 * they send what they record differs (the writer thread, or the main thread from a worker).
 */
export function keyVerifierFor(
  config: Readonly<Config>,
  deps: Pick<ConstructorParameters<typeof KeyVerifier>[0], 'store' | 'limiter' | 'usage' | 'changes' | 'clock' | 'health'> & {
    metrics: GatehouseMetrics | null;
  },
): KeyVerifier {
  return new KeyVerifier({
    ...deps,
    peppers: config.peppers,
    cacheSize: config.cache.keyEntries,
    cacheTtlMs: config.cache.keyTtlSeconds * 1000,
    negativeTtlMs: config.cache.negativeTtlSeconds * 1000,
    serveStaleMs: config.cache.serveStaleSeconds * 1000,
    observer: deps.metrics?.verification ?? null,
  });
}

/** Where an API's quotas per app or user are counted (with key usage, batched) and read back for a new period. */
export function counterUsage(usage: Pick<UsageMeter, 'count'>, store: Pick<Store, 'usage'>): CounterUsage {
  return { count: (c, p) => usage.count(c, p), used: (c, p) => store.usage.counterUsed(c, p) };
}

/** The request log over `sink`, or null when it is off. */
export function requestLogFor(config: Readonly<Config>, sink: RequestLogSink, health: HealthReporter, clock: () => number): RequestLog | null {
  if (!config.requestLog.enabled) return null;
  const { retentionDays, bufferRecords, flushRecords, flushIntervalMs } = config.requestLog;
  return new RequestLog({ sink, health, clock, retentionDays, bufferRecords, flushRecords, flushIntervalMs });
}

/** Usage analytics over `sink`, flushed every `flushIntervalMs` (default `analytics.flushIntervalSeconds`), or null when they are off. */
export function usageAnalyticsFor(
  config: Readonly<Config>,
  sink: UsageAnalyticsSink,
  health: HealthReporter,
  clock: () => number,
  flushIntervalMs = config.analytics.flushIntervalSeconds * 1000,
): UsageAnalytics | null {
  if (!config.analytics.enabled) return null;
  return new UsageAnalytics({ sink, health, clock, flushIntervalMs, retention: config.analytics, maxCells: config.analytics.maxCells });
}

/** What one data plane is built from: the same on the main thread (gateway.workers 1) and in each gateway worker. */
export interface DataPlaneDeps {
  config: Readonly<Config>;
  log: pino.Logger;
  clock: () => number;
  health: HealthReporter;
  /** What the gateway's /readyz answers (gateway.healthPaths). */
  readiness: () => Readiness;
  metrics: GatehouseMetrics | null;
  tracing: Tracing | null;
  /** Read here: the APIs (route table) and quota use counted per app or user. */
  store: Pick<Store, 'apis' | 'usage'>;
  changes: ChangeBus;
  verifier: KeyChecker;
  revocations: RevocationList;
  /** Issuers whose access tokens are accepted (our own joins once it is up). */
  trusted: () => readonly TrustedIssuer[];
  limiter: Limiter;
  throttle: Throttle;
  dpop: DpopVerifier;
  usage: UsageMeter;
  requestLog: RequestLog | null;
  analytics: UsageAnalytics | null;
  /** Observers besides metrics, the request log and usage analytics (tests). */
  observers?: readonly RequestObserver[];
  /** An API key seen over plain HTTP or in a query string: mark it exposed (a store write, by the control plane). */
  onExposed: OnExposed;
  ownIssuer: () => string | null;
  identityJwt: () => IdentityJwtSigner | null;
  /** Runs before every request (a gateway worker applies change events here); none on the main thread. */
  first?: readonly [string, Stage];
}

export interface DataPlane {
  gateway: Server;
  /** Outcome counts by code since start. */
  outcomes: Map<string, number>;
  /**
   * Stops serving: `closeListener` closes (or hands over) the server, then the route-table subscription
   * and the upstream pools close, then it waits, at most SETTLE_MS, for every request taken to be
   * settled and observed, so the last flushes that follow hold them all; any left over is logged.
   */
  stop(closeListener: () => Promise<void>): Promise<void>;
}

/** How long a stop waits, once the listener is closed, for the requests it cut to settle. */
const SETTLE_MS = 2000;

/** The route table, rebuilt when an API changes. */
export const ROUTES = 'routes';
/** A failed route rebuild is tried again this often until one succeeds. */
const ROUTES_RETRY_MS = 2000;

/**
 * Wires the gateway: route table (rebuilt on api.changed), token verifier, upstream pools, the
 * pipeline and its HTTP(S) server, with metrics, the request log and tracing as observers.
 */
export async function createDataPlane(deps: DataPlaneDeps): Promise<DataPlane> {
  const { config, log, clock, health, metrics, store, changes, requestLog } = deps;
  const tokens = new TokenVerifier({
    issuers: deps.trusted,
    introspector: introspectorFor(config, clock),
    revocations: deps.revocations,
    cacheSize: config.tokens.cacheEntries,
    clock,
    observer: metrics?.verification ?? null,
  });
  const upstreams = new Upstreams((error) => log.warn({ err: error }, 'closing an unused upstream pool failed'));
  // With the gateway's health paths on, an API published exactly at /livez or /readyz never gets those paths.
  const shadowed = (apis: readonly { name: string; listenPath: string }[]) => {
    if (!config.gateway.healthPaths) return;
    for (const api of apis)
      if (api.listenPath === '/livez' || api.listenPath === '/readyz')
        log.warn(
          { api: api.name, listenPath: api.listenPath },
          'the gateway answers this path itself (gateway.healthPaths); only the paths below it reach the API',
        );
  };
  const initialApis = await store.apis.all();
  shadowed(initialApis);
  let routes = new RouteTable(initialApis);
  requestLog?.configure(initialApis);
  const rebuildRoutes = async () => {
    const apis = await store.apis.all();
    shadowed(apis);
    routes = new RouteTable(apis);
    requestLog?.configure(apis);
    upstreams.retain(routes.origins());
  };
  health.register(ROUTES, true);
  // A failed rebuild leaves the previous table serving; readiness says so until one succeeds, and it
  // is tried again: the change that asked for it has been read and will not come again.
  const rebuild = retriedTask(health, ROUTES, rebuildRoutes, ROUTES_RETRY_MS);
  const unsubscribe = changes.subscribe((event) => {
    if (event.type === 'api.changed') rebuild.run();
  });

  const outcomes = new Map<string, number>();
  const tls = config.gateway.tls ? gatewayTlsOptions(config, log) : undefined;
  // Each finished request goes to these (gateway/observer.ts): metrics, the request log, and any the caller adds.
  const observers: RequestObserver[] = [];
  if (metrics) observers.push(metrics.requests);
  if (requestLog) observers.push(requestLog.observe);
  if (deps.analytics) observers.push(deps.analytics.observe);
  observers.push(...(deps.observers ?? []));
  const pipeline = buildPipeline({
    refusePlaintext: config.gateway.plaintextCredentials === 'refuse',
    onExposed: deps.onExposed,
    routes: () => routes,
    verifier: deps.verifier,
    tokens,
    checkProof: dpopProofCheck(deps.dpop),
    throttle: deps.throttle,
    ownIssuer: deps.ownIssuer,
    limiter: deps.limiter,
    counters: counterUsage(deps.usage, store),
    upstreams,
    maxBodyBytes: config.gateway.maxBodyBytes,
    identityJwt: deps.identityJwt,
  });
  const inProgress = new InProgress();
  const gateway = createGatewayServer({
    inProgress,
    pipeline: deps.first ? [deps.first, ...pipeline] : pipeline,
    limits: connectionLimitsOf(config.gateway),
    clientOrigin: createClientOriginResolver(config.gateway.trustedProxies),
    ...(tls ? { tls, onPlainHttpExposed: deps.onExposed } : {}),
    hsts: config.gateway.hstsMaxAgeSeconds > 0 ? `max-age=${config.gateway.hstsMaxAgeSeconds}` : null,
    clock,
    onOutcome: (code) => outcomes.set(code, (outcomes.get(code) ?? 0) + 1),
    observers,
    readiness: config.gateway.healthPaths ? deps.readiness : null,
    onError: (error) => log.error({ err: error }, 'gateway error'),
    // Loaded only with tracing on, as the OpenTelemetry modules are (startTracing).
    ...(deps.tracing ? { tracer: (await import('./telemetry/gateway-tracing.ts')).gatewayTracer(deps.tracing) } : {}),
  });
  return {
    gateway,
    outcomes,
    stop: async (closeListener) => {
      closeAfterAnswers(gateway, inProgress);
      await closeListener();
      unsubscribe();
      rebuild.stop();
      // Its table serves no more (the main thread hands over to the workers, whose own plane reports
      // theirs): a failure it reported must not keep the node, and every worker's /readyz, unready.
      health.ok(ROUTES);
      await upstreams.close();
      if (!(await inProgress.settled(SETTLE_MS))) {
        log.error({ requests: inProgress.count }, 'requests still in progress when the gateway stopped: their usage and records are not written');
      }
    },
  };
}

/** The introspection client for opaque tokens, if an issuer is configured for it (config/ read its secret). */
function introspectorFor(config: Readonly<Config>, clock: () => number): TokenIntrospector | null {
  const issuer = config.tokens.issuers.find((i) => i.introspection);
  if (!issuer?.introspection || config.introspectionClientSecret === null) return null;
  const { introspection } = issuer;
  return new TokenIntrospector(
    {
      issuer: issuer.issuer,
      url: introspection.url,
      clientId: introspection.clientId,
      clientSecret: config.introspectionClientSecret,
      cacheSeconds: introspection.cacheSeconds,
    },
    clock,
  );
}

/**
 * The gateway's TLS files, checked as start checks them (a gateway worker started again after a crash
 * reads them long after start): a key or client CA anyone may write throws, naming the file and why,
 * so the listener is not made with it. A looser mode than start's warning named is logged here.
 */
function gatewayTlsOptions(config: Readonly<Config>, log: pino.Logger) {
  const warnings: SecretFileWarning[] = [];
  const options = checkedTlsOptions(config.gateway.tls!, 'gateway.tls', warnings);
  const warnedAtStart = (w: SecretFileWarning) =>
    config.secretFileWarnings.some((s) => s.setting === w.setting && s.file === w.file && s.problem === w.problem);
  for (const { setting, file, problem } of warnings.filter((w) => !warnedAtStart(w))) {
    log.warn({ setting, file }, `secrets file ${file} (${setting}) is ${problem}: make it readable by Gatehouse's user only (chmod 0400)`);
  }
  return options;
}

/** The span exporter: its failures are reported, but never make the node unready (requests are served without spans). */
const TRACE_EXPORT = 'trace-export';

export async function startTracing(config: Readonly<Config>, health: HealthReporter, log: pino.Logger): Promise<Tracing> {
  // The OpenTelemetry SDK and exporter (some 200 modules) are loaded only when tracing is on: start-up
  // without them is shorter (issue 14, cold start).
  const { GATEHOUSE_VERSION, Tracing } = await import('./telemetry/tracing.ts');
  health.register(TRACE_EXPORT, false);
  const t = config.tracing;
  return new Tracing(
    {
      endpoint: t.endpoint,
      headers: config.tracingHeaders,
      serviceName: t.serviceName,
      serviceVersion: GATEHOUSE_VERSION,
      resourceAttributes: t.resourceAttributes,
      sampleRatio: t.sampleRatio,
      parentBased: t.parentBased,
      trustIncomingTraceparentFrom: t.trustIncomingTraceparentFrom,
      scheduledDelayMs: t.scheduledDelayMs,
      maxQueueSize: t.maxQueueSize,
      maxExportBatchSize: t.maxExportBatchSize,
      exportTimeoutMs: t.exportTimeoutMs,
      compression: t.compression,
    },
    { ok: () => health.ok(TRACE_EXPORT), failed: (error) => health.failed(TRACE_EXPORT, error) },
    log,
  );
}
