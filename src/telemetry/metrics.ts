import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { KEY_CODES, TOKEN_CODES, type KeyCode, type TokenCode } from '../domain/codes.ts';
import type { RequestObserver } from '../gateway/observer.ts';
import { ConflictError, StorageUnavailableError } from '../store/port.ts';
import type { VerificationObserver } from '../verification/verification-observer.ts';
import type { Health, HealthListener } from './health.ts';
import { httpMetrics } from './http-metrics.ts';
import { CellCounter, CellHistogram, slot, type CounterCell, type HistogramCell } from './metric-cells.ts';
import type { RecordLosses } from './recorder-rounds.ts';
import type { StoreTiming } from './timed-store.ts';

export interface MetricsSettings {
  /** `app_id` and `key_id` labels on the gateway's outcome and limit counters (off: one series per key). */
  perKeyLabels: boolean;
}

/** Grant types Gatehouse's token endpoint serves; anything else a client sends is `other`. */
/** What keeps its own count of records it had to drop (requests/request-log.ts, usage/analytics.ts, usage/usage-recorder.ts). */
export interface LossSources {
  /** The request log and analytics: dropped for a full buffer, refused by the store, left by a failed last flush at stop. */
  requestLog: RecordLosses | null;
  analytics: RecordLosses | null;
  /**
   * The usage recorder: requests whose counts a failed last flush at stop left (a gateway worker's
   * hand-over, the main thread's write), and apart, the per-app and per-user quota counter uses it left.
   */
  usage: { dropped(): number; droppedCounterUses(): number } | null;
  /** Tracing (telemetry/tracing.ts): spans dropped because the export queue was full (the collector not keeping up); absent or null: off. */
  spans?: { dropped(): number } | null;
}

/**
 * Losses by series of gatehouse_records_lost_total: what a gateway worker reports at stop
 * (workers/messages.ts), so the main thread keeps counting them once the worker and its registry are gone.
 */
export type LostRecords = Record<(typeof LOSS_SERIES)[number][0], number>;

const LOSS_SERIES = [
  ['requestLogDropped', { log: 'request_log', reason: 'buffer_full' }],
  ['requestLogRefused', { log: 'request_log', reason: 'refused' }],
  ['requestLogLastFlushLost', { log: 'request_log', reason: 'last_flush_failed' }],
  ['analyticsDropped', { log: 'analytics', reason: 'buffer_full' }],
  ['analyticsRefused', { log: 'analytics', reason: 'refused' }],
  ['analyticsLastFlushLost', { log: 'analytics', reason: 'last_flush_failed' }],
  ['usageDropped', { log: 'usage', reason: 'last_flush_failed' }],
  ['usageCounterUsesDropped', { log: 'usage_counters', reason: 'last_flush_failed' }],
  ['spansDropped', { log: 'spans', reason: 'buffer_full' }],
] as const;

/** What `sources` lost so far, by series; a series whose source is absent (off) is absent. */
export function lostRecords(sources: LossSources): Partial<LostRecords> {
  const { requestLog, analytics, usage, spans } = sources;
  return {
    ...(requestLog
      ? { requestLogDropped: requestLog.dropped(), requestLogRefused: requestLog.refused(), requestLogLastFlushLost: requestLog.lastFlushLost() }
      : {}),
    ...(analytics ? { analyticsDropped: analytics.dropped(), analyticsRefused: analytics.refused(), analyticsLastFlushLost: analytics.lastFlushLost() } : {}),
    ...(usage ? { usageDropped: usage.dropped(), usageCounterUsesDropped: usage.droppedCounterUses() } : {}),
    ...(spans ? { spansDropped: spans.dropped() } : {}),
  };
}

/** The losses a registry's scrape (getMetricsAsJSON) holds, by series: a gateway worker's, as last seen. */
export function lostRecordsIn(
  scraped: readonly { name: string; values: readonly { labels: Partial<Record<string, string | number>>; value: number }[] }[],
): Partial<LostRecords> {
  const lost: Partial<LostRecords> = {};
  for (const { labels, value } of scraped.find((m) => m.name === RECORDS_LOST)?.values ?? []) {
    const found = LOSS_SERIES.find(([, series]) => series.log === labels.log && series.reason === labels.reason);
    if (found) lost[found[0]] = value;
  }
  return lost;
}

const RECORDS_LOST = 'gatehouse_records_lost_total';

const GRANT_TYPES = new Set([
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:ietf:params:oauth:grant-type:token-exchange',
]);
/** Token endpoint error codes (RFC 6749 §5.2, RFC 8628 §3.5, RFC 8693, RFC 8707, RFC 9449); others are `other`. */
const TOKEN_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'invalid_dpop_proof',
  'use_dpop_nonce',
  'authorization_pending',
  'slow_down',
  'access_denied',
  'expired_token',
  'server_error',
  'temporarily_unavailable',
]);

/** Store call latency: 0.1 ms (a cached statement) to 5 s (a write waiting on the busy timeout). */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Background rounds: a usage flush handed to the writer thread, a revocation poll, a route rebuild. */
const TASK_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30];

/** The usage flush's component name (usage/usage-recorder.ts), whose lag is a metric of its own. */
const USAGE_FLUSH = 'usage-flush';

/**
 * Gatehouse's Prometheus metrics: one registry per process (never prom-client's global one, so two
 * Gatehouses in one test process keep their own), fed through ports that know nothing of prom-client:
 * the gateway's RequestObserver, the verifiers' VerificationObserver, Health's listener, the token
 * endpoint's observer and the store's timing. Scraped at `/metrics` on the control listener.
 */
export class GatehouseMetrics {
  readonly registry = new Registry();
  /** The gateway's per-request hook (gateway/observer.ts). */
  readonly requests: RequestObserver;
  readonly verification: VerificationObserver;
  readonly healthListener: HealthListener;
  readonly #startedAt = performance.now();
  readonly #lastSuccess = new Map<string, number>();
  readonly #up = new Map<string, boolean>();
  #health: Health | null = null;
  #lossSources: LossSources = { requestLog: null, analytics: null, usage: null };
  /** What gateway workers that have exited lost (reported at their stop): kept here, as their registries are gone. */
  readonly #workersLost = Object.fromEntries(LOSS_SERIES.map(([series]) => [series, 0])) as LostRecords;
  readonly #tokenRequests: CellCounter<'grant_type' | 'result'>;
  readonly #tokenRequestCells = new Map<string, Map<string, CounterCell>>();
  readonly #storeDuration: CellHistogram<'repository' | 'operation'>;
  readonly #storeErrors: CellCounter<'repository' | 'operation' | 'error_type'>;

  constructor(settings: MetricsSettings) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = httpMetrics(this.registry, settings.perKeyLabels);

    // Caches and verdicts: every series made now, so rates start from zero rather than from absence.
    const lookups = new CellCounter({
      name: 'gatehouse_cache_lookups_total',
      help: 'Credential cache lookups: the key cache (verified keys by fingerprint or id) and the verified-token cache (JWT access tokens).',
      labelNames: ['cache', 'result'] as const,
      registers,
    });
    const [keyHit, keyMiss, tokenHit, tokenMiss] = [
      lookups.cell({ cache: 'key', result: 'hit' }),
      lookups.cell({ cache: 'key', result: 'miss' }),
      lookups.cell({ cache: 'token', result: 'hit' }),
      lookups.cell({ cache: 'token', result: 'miss' }),
    ];
    const keyVerdicts = new CellCounter({
      name: 'gatehouse_key_verifications_total',
      help: 'API key verdicts (gateway and the verify endpoint), by code: VALID or why not.',
      labelNames: ['result'] as const,
      registers,
    });
    const tokenVerdicts = new CellCounter({
      name: 'gatehouse_token_verifications_total',
      help: 'Access token verdicts at the gateway, by code: VALID or why not.',
      labelNames: ['result'] as const,
      registers,
    });
    const keyCells = new Map<KeyCode, CounterCell>(KEY_CODES.map((code) => [code, keyVerdicts.cell({ result: code })]));
    const tokenCells = new Map<TokenCode, CounterCell>(TOKEN_CODES.map((code) => [code, tokenVerdicts.cell({ result: code })]));
    this.verification = {
      keyCache: (hit) => void ((hit ? keyHit : keyMiss).value += 1),
      tokenCache: (hit) => void ((hit ? tokenHit : tokenMiss).value += 1),
      keyVerified: (code) => void (keyCells.get(code)!.value += 1),
      tokenVerified: (code) => void (tokenCells.get(code)!.value += 1),
    };

    this.#tokenRequests = new CellCounter({
      name: 'gatehouse_oauth_token_requests_total',
      help: 'Token endpoint answers by grant type: result "issued", or the OAuth error code sent.',
      labelNames: ['grant_type', 'result'] as const,
      registers,
    });

    this.#storeDuration = new CellHistogram({
      name: 'gatehouse_store_operation_duration_seconds',
      help: 'Duration of store calls (one repository method: a read, or a write with its audit entry in one transaction).',
      labelNames: ['repository', 'operation'] as const,
      buckets: STORE_BUCKETS,
      registers,
    });
    this.#storeErrors = new CellCounter({
      name: 'gatehouse_store_errors_total',
      help: 'Store calls that failed: unavailable (the engine cannot work now), conflict (a unique or reference rule), other.',
      labelNames: ['repository', 'operation', 'error_type'] as const,
      registers,
    });

    // Background tasks and the store, as Health hears of them.
    const failures = new CellCounter({
      name: 'gatehouse_component_failures_total',
      help: 'Failures reported by a component (background task or the store) since start.',
      labelNames: ['component'] as const,
      registers,
    });
    const failureCells = new Map<string, CounterCell>();
    const rounds = new CellHistogram({
      name: 'gatehouse_background_task_duration_seconds',
      help: 'Duration of background task rounds (usage flush, revocation feed, route rebuild...), by result.',
      labelNames: ['component', 'result'] as const,
      buckets: TASK_BUCKETS,
      registers,
    });
    const roundCells = new Map<string, HistogramCell>();
    this.healthListener = {
      reported: (component, ok) => {
        this.#up.set(component, ok);
        if (ok) this.#lastSuccess.set(component, performance.now());
        else slot(failureCells, component, () => failures.cell({ component })).value += 1;
      },
      ran: (component, ok, ms) => {
        const result = ok ? 'ok' : 'failed';
        slot(roundCells, `${component}\n${result}`, () => rounds.cell({ component, result })).observe(ms / 1000);
      },
    };
    const up = this.#up;
    new Gauge({
      name: 'gatehouse_component_up',
      help: "1 while a component's last report was a success, 0 after a failure (readiness needs every critical one up).",
      labelNames: ['component'] as const,
      registers,
      // Gateway workers each have theirs (gateway-workers.ts sums the threads' scrapes): down in one thread is down.
      aggregator: 'min',
      collect() {
        for (const [component, ok] of up) this.set({ component }, ok ? 1 : 0);
      },
    });
    const metrics = this;
    new Gauge({
      name: 'gatehouse_ready',
      help: '1 while /readyz answers ready, else 0.',
      registers,
      aggregator: 'min',
      collect() {
        const health = metrics.#health;
        if (health) this.set(health.report().ready ? 1 : 0);
      },
    });
    new Counter({
      name: RECORDS_LOST,
      help: 'Request-log records, analytics and usage counts, and trace spans (log spans), lost since start: buffer_full (the store, for spans the collector, was not keeping up), refused (the store would not hold the record), last_flush_failed (what a failed last flush at stop left: request-log records, analytics requests, usage counts: log usage for requests with a key, usage_counters for uses of per-app and per-user quota counters).',
      labelNames: ['log', 'reason'] as const,
      registers,
      collect() {
        const own = lostRecords(metrics.#lossSources);
        this.reset();
        // This thread's own, and those of the gateway workers that exited (a running worker's are in its own scrape).
        for (const [series, labels] of LOSS_SERIES) {
          const ours = own[series];
          const workers = metrics.#workersLost[series];
          if (ours !== undefined || workers > 0) this.inc(labels, (ours ?? 0) + workers);
        }
      },
    });
    new Gauge({
      name: 'gatehouse_usage_flush_lag_seconds',
      help: 'Seconds since usage counts were last flushed to the store (or since start): what a crash now would lose, and how stale stored usage is.',
      registers,
      aggregator: 'max',
      collect() {
        this.set((performance.now() - (metrics.#lastSuccess.get(USAGE_FLUSH) ?? metrics.#startedAt)) / 1000);
      },
    });
  }

  /** The request log's, usage analytics', the usage recorder's and tracing's own counts of what they lost, read at each scrape. */
  countLosses(sources: LossSources): void {
    this.#lossSources = sources;
  }

  /**
   * What a gateway worker lost, as it reported at its stop: counted here from now on, so the node's
   * counter neither loses them when the worker exits nor goes down when a new worker starts from zero.
   */
  addWorkerLosses(lost: Partial<LostRecords>): void {
    for (const [series] of LOSS_SERIES) this.#workersLost[series] += lost[series] ?? 0;
  }

  /** Listens to Health (components' reports, background rounds) and reads readiness from it. */
  watch(health: Health): void {
    this.#health = health;
    for (const [component, state] of Object.entries(health.report().components)) this.#up.set(component, state.ok);
    health.listen(this.healthListener);
  }

  /** The token endpoint's answers (control/authorization/token-metrics.ts), labels bounded to known values. */
  readonly tokenRequest = (grantType: string | null, error: string | null): void => {
    const grant = grantType !== null && GRANT_TYPES.has(grantType) ? grantType : 'other';
    const result = error === null ? 'issued' : TOKEN_ERRORS.has(error) ? error : 'other';
    const byResult = slot(this.#tokenRequestCells, grant, () => new Map<string, CounterCell>());
    slot(byResult, result, () => this.#tokenRequests.cell({ grant_type: grant, result })).value += 1;
  };

  /** The store's timing port (timed-store.ts): one recorder per repository method, made on its first call. */
  readonly storeTiming: StoreTiming = (repository, operation) => {
    const duration = this.#storeDuration.cell({ repository, operation });
    const errors = new Map<string, CounterCell>();
    return (ms, error) => {
      duration.observe(ms / 1000);
      if (error === undefined) return;
      const type = error instanceof StorageUnavailableError ? 'unavailable' : error instanceof ConflictError ? 'conflict' : 'other';
      slot(errors, type, () => this.#storeErrors.cell({ repository, operation, error_type: type })).value += 1;
    };
  };

  /** The Prometheus text exposition format (0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
