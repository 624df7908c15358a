import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { createDataPlane, keyVerifierFor, requestLogFor, startTracing, usageAnalyticsFor } from '../data-plane.ts';
import { createLocalChangeBus } from '../events/change-bus.ts';
import { closeServer } from '../http/listening.ts';
import { IdentityJwtSigner, type SigningMaterial } from '../gateway/identity-jwt.ts';
import { sharedThrottles } from '../limits/failure-throttle.ts';
import { redisThrottles } from '../limits/redis/fallback-throttle.ts';
import { SharedMemoryLimiter } from '../limits/shared-memory-limiter.ts';
import { FallbackLimiter, fallbackOptions } from '../limits/redis/fallback-limiter.ts';
import { RedisLimiter } from '../limits/redis/redis-limiter.ts';
import { connectRedis, REDIS_CONNECTION } from '../redis/connection.ts';
import { SharedTable } from '../limits/shared-table.ts';
import { openStore } from '../store/open-store.ts';
import { STORE_COMPONENT, StorageUnavailableError } from '../store/port.ts';
import { Health, healthMessageOf } from '../telemetry/health.ts';
import { GatehouseMetrics, lostRecords } from '../telemetry/metrics.ts';
import { timedStore } from '../telemetry/timed-store.ts';
import { reloadOnChange } from '../tls/server-tls.ts';
import { UsageRecorder } from '../usage/usage-recorder.ts';
import { toBatchColumns } from '../store/usage-batch-columns.ts';
import { toCellColumns } from '../store/usage-cell-columns.ts';
import { DpopVerifier } from '../verification/dpop.ts';
import { redisReplaySetWithFallback } from '../verification/redis-replay-set.ts';
import { sharedReplaySet } from '../verification/replay-set.ts';
import { externalIssuer, ownIssuer, type TrustedIssuer } from '../verification/issuers.ts';
import { REVOCATION_FEED, RevocationList } from '../verification/revocation-list.ts';
import { ChangeFeed } from './change-feed.ts';
import type { FromWorker, ToWorker, WorkerCall, WorkerSetup } from './messages.ts';
import { LOG_OPTIONS } from '../telemetry/log-redaction.ts';

/**
 * One gateway worker (gateway-workers.ts starts them): the whole data plane on its own thread and its
 * own read connection to the store, listening on the gateway's port beside the other workers
 * (SO_REUSEPORT: the kernel spreads connections). What must be exact across workers is in shared
 * memory (limits, failure throttle, DPoP replays); what is written (usage, request records, exposed
 * keys) and the control plane's events go through the main thread.
 */
const setup = workerData as WorkerSetup;
const { config } = setup;
const nodeReady = new Int32Array(setup.nodeReady);
const main = parentPort!;
const post = (message: FromWorker) => main.postMessage(message);
const clock = Date.now;
const log = pino({
  level: config.log.level,
  base: { worker: setup.index },
  ...LOG_OPTIONS,
  // Loaded only with tracing on (the OpenTelemetry SDK is large; see startTracing).
  ...(config.tracing.enabled ? { mixin: (await import('../telemetry/tracing.ts')).traceLogFields } : {}),
});

/** This worker's health, and the main thread's readiness told of every report. */
class ForwardedHealth extends Health {
  override register(component: string, critical: boolean): void {
    super.register(component, critical);
    post({ type: 'health', component, critical, ok: null, error: null });
  }
  override ok(component: string): void {
    super.ok(component);
    post({ type: 'health', component, critical: true, ok: true, error: null });
  }
  override failed(component: string, error: unknown): void {
    super.failed(component, error);
    post({ type: 'health', component, critical: true, ok: false, error: healthMessageOf(error) });
  }
}

// Calls to the main thread, answered by id.
let nextCall = 1;
const calls = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
const call = (request: WorkerCall): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const id = nextCall++;
    calls.set(id, { resolve, reject });
    post({ type: 'call', id, call: request });
  });

const health = new ForwardedHealth(log, clock);
const metrics = config.metrics.enabled ? new GatehouseMetrics({ perKeyLabels: config.metrics.perKeyLabels }) : null;
metrics?.watch(health);
const tracing = config.tracing.enabled ? await startTracing(config, health, log) : null;
// A worker only reads (keys, revocations): a few connections are enough for it.
// On a gateway node the store is not critical: the worker serves on from its caches while it is away.
health.register(STORE_COMPONENT, setup.storeCritical);
const opened = (await openStore(config, { health, clock, maxConnections: 2 })).store;
const store = metrics ? timedStore(opened, metrics.storeTiming) : opened;
const changes = createLocalChangeBus();
const feed = new ChangeFeed(setup.changes, setup.generation, changes);
const table = new SharedTable(setup.table);
const localLimiter = new SharedMemoryLimiter(table);
// With Redis, each worker counts there itself (one connection each); the shared table answers while Redis is away.
const redis = config.redis.url || config.redis.sentinels.length > 0 ? await connectRedis(config, `gateway-worker-${setup.index}`) : null;
if (redis) health.register(REDIS_CONNECTION, false);
redis?.on('error', (error: unknown) => health.failed(REDIS_CONNECTION, error));
redis?.on('ready', () => health.ok(REDIS_CONNECTION));
const limiter = redis ? new FallbackLimiter(new RedisLimiter(redis), localLimiter, fallbackOptions(config.redis, health)) : localLimiter;
// Failed credential checks: in the shared table, or in Redis (the shared table counting while it is away).
const localThrottles = sharedThrottles(table);
const throttles = redis ? redisThrottles(redis, { nodes: config.redis.expectedNodes, health, local: localThrottles }) : localThrottles;
const throttle = throttles({ name: 'gateway', limit: config.authFailures.limit, windowMs: config.authFailures.windowSeconds * 1000, perAddress: true });
// DPoP proof ids: in the shared table, or in Redis (the shared table standing in while it is away, where the API allows).
const localReplays = sharedReplaySet(table);
const replays = redis ? redisReplaySetWithFallback(redis, localReplays, { whenUnavailable: config.redis.whenUnavailable, health, clock }) : localReplays;
const dpop = new DpopVerifier(config.tokens.dpopWindowSeconds, replays);
// Usage goes to the main thread's recorder, which flushes it with its own through the writer thread.
const usage = new UsageRecorder(
  { record: (batch) => call({ kind: 'usage', batch: toBatchColumns(batch) }).then(() => []) },
  { addressesPerKey: config.keyAddresses.perKey },
);
usage.start(config.usage.flushIntervalSeconds * 1000, health, setup.storeCritical);
const verifier = keyVerifierFor(config, { store, limiter, usage, changes, clock, metrics, health });
const revocations = new RevocationList(store.revocations, changes, clock);
if (setup.pollRevocations) {
  health.register(REVOCATION_FEED, setup.storeCritical);
  await revocations.start(config.authorization.revocationPollSeconds * 1000, health);
}
const trusted: TrustedIssuer[] = await Promise.all(config.tokens.issuers.map((i) => externalIssuer(i)));
// Records go to the main thread, which hands them to the writer; retention is the main thread's.
const requestLog = requestLogFor(
  config,
  {
    append: (batch) => call({ kind: 'requests', batch }).then(() => undefined),
    deleteBefore: async () => 0,
  },
  health,
  clock,
);
// Cells go to the main thread, which hands them to the writer; retention is the main thread's.
const analytics = usageAnalyticsFor(
  config,
  { add: (cells) => call({ kind: 'usage-cells', cells: toCellColumns(cells) }).then(() => undefined), deleteBefore: async () => 0 },
  health,
  clock,
  // Handed to the main thread as often as usage: a query there sees them after this long at most.
  config.usage.flushIntervalSeconds * 1000,
);
let ownIssuerUrl: string | null = null;
let identitySigner: IdentityJwtSigner | null = null;
const plane = await createDataPlane({
  config,
  log,
  clock,
  health,
  // The gateway's /readyz answers for the worker that took the connection, and names it.
  readiness: () => {
    const report = health.report();
    // The node's readiness too (the main thread's components: the writer, the store, the other workers), as the control listener's.
    return {
      ready: report.ready && Atomics.load(nodeReady, 0) === 1,
      components: { ...report.components, [`gateway-worker-${setup.index}`]: { ok: true, critical: true } },
    };
  },
  metrics,
  tracing,
  store,
  changes,
  verifier,
  revocations,
  trusted: () => trusted,
  limiter,
  throttle,
  dpop,
  usage,
  requestLog,
  analytics,
  onExposed: (secret, ip, source) => post({ type: 'exposed', secret, ip, source }),
  ownIssuer: () => ownIssuerUrl,
  identityJwt: () => identitySigner,
  first: ['changes', () => void feed.sync()],
});
const { gateway } = plane;
metrics?.countLosses({ requestLog, analytics, usage, spans: tracing });
requestLog?.start();
analytics?.start();
const stopWatching = config.gateway.tls ? reloadOnChange(gateway as never, config.gateway.tls, { settings: 'gateway.tls', health, log }) : null;

async function trustOwnIssuer(issuer: string): Promise<void> {
  const own = ownIssuer(issuer, store.signingKeys, changes, clock, health);
  await own.refresh();
  trusted.push(own);
  ownIssuerUrl = own.issuer;
  const signer = new IdentityJwtSigner(issuer, () => call({ kind: 'signing-material' }) as Promise<SigningMaterial>);
  changes.subscribe((event) => event.type === 'signing_keys.changed' && signer.reset());
  identitySigner = signer;
}
if (setup.ownIssuer) await trustOwnIssuer(setup.ownIssuer);

let stopping: Promise<void> | undefined;
async function stop(): Promise<void> {
  stopWatching?.();
  await plane.stop(() => closeServer(gateway, config.gateway.shutdownGraceSeconds * 1000));
  revocations.stop();
  await tracing?.shutdown().catch((error: unknown) => log.error({ err: error }, 'sending the last spans failed'));
  // Every answer has gone, so every request's usage and record is held here: hand them over.
  const flushed = await Promise.allSettled([usage.stop(), requestLog?.stop(), analytics?.stop()]);
  for (const result of flushed) if (result.status === 'rejected') log.error({ err: result.reason }, 'handing over the last usage or request records failed');
  await store.close();
  redis?.disconnect();
  feed.close();
  // What it lost (its last hand-over's failures included) outlives it in the main thread's metrics.
  post({ type: 'stopped', lost: lostRecords({ requestLog, analytics, usage, spans: tracing }) });
  main.close();
}

main.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'reply': {
      const pending = calls.get(message.id);
      calls.delete(message.id);
      if (message.ok) pending?.resolve(message.value);
      else pending?.reject(message.unavailable ? new StorageUnavailableError(message.message, { cause: null }) : new Error(message.message));
      return;
    }
    case 'own-issuer':
      return void trustOwnIssuer(message.issuer).catch((error: unknown) => health.failed('own-issuer', error));
    case 'metrics':
      return void (metrics ? metrics.registry.getMetricsAsJSON() : Promise.resolve([])).then(
        (value) => post({ type: 'reply', id: message.id, ok: true, value }),
        (error: unknown) => post({ type: 'reply', id: message.id, ok: false, message: String(error), unavailable: false }),
      );
    case 'stop':
      return void (stopping ??= stop());
  }
});

gateway.listen({ host: config.gateway.host, port: setup.port, reusePort: true }, () => post({ type: 'listening' }));
