import type { Server } from 'node:http';
import { LRUCache } from 'lru-cache';
import pino from 'pino';
import { ConfigError, type Config } from './config/load.ts';
import { gatewayPublicHost, type NodeRole } from './config/schema.ts';
import { identityContext } from './control/authorization/identity-context.ts';
import type { RunningAuthorization } from './control/authorization/start-authorization.ts';
import type { RunningConsole } from './control/console/start-console.ts';
import type { ControlContext } from './control/context.ts';
import { counterUsage, createDataPlane, keyVerifierFor, requestLogFor, startTracing, usageAnalyticsFor } from './data-plane.ts';
import { IdentityLimits } from './limits/identity-limits.ts';
import type { RequestLog } from './requests/request-log.ts';
import type { UsageAnalytics } from './usage/analytics.ts';
import { createLocalChangeBus, type ChangeBus } from './events/change-bus.ts';
import { SharedMemoryLimiter } from './limits/shared-memory-limiter.ts';
import { GatewayWorkers } from './workers/gateway-workers.ts';
import { mainThreadGateway, workersGateway, type ServingGateway } from './workers/serving-gateway.ts';
import { connectionLimitsOf } from './http/connection-limits.ts';
import { closeServer, listen } from './http/listening.ts';
import { IdentityJwtSigner } from './gateway/identity-jwt.ts';
import { createRedirectServer } from './gateway/redirect-server.ts';
import type { OnExposed } from './gateway/stages/transport.ts';
import type { RotationTasks } from './control/services/rotation-tasks.ts';
import { eventScansFor, webhooksFor } from './control/webhooks/start-webhooks.ts';
import type { EventScans } from './control/webhooks/event-scans.ts';
import type { Resolve } from './control/webhooks/destination.ts';
import type { WebhookDispatcher } from './control/webhooks/delivery.ts';
import { reloadOnChange, tlsOptions } from './tls/server-tls.ts';
import { tuneHeapForProxying } from './runtime/heap-tuning.ts';
import { memoryThrottles, sharedThrottles } from './limits/failure-throttle.ts';
import { redisThrottles } from './limits/redis/fallback-throttle.ts';
import { MemoryLimiter } from './limits/memory-limiter.ts';
import { openStore } from './store/open-store.ts';
import { STORE_COMPONENT } from './store/port.ts';
import { StoreChangeFeed } from './events/store-change-feed.ts';
import { CHANGE_DOORBELL, RedisDoorbell, ringingBus } from './events/redis-doorbell.ts';
import { FallbackLimiter, fallbackOptions } from './limits/redis/fallback-limiter.ts';
import { RedisLimiter } from './limits/redis/redis-limiter.ts';
import { connectRedis, REDIS_CONNECTION, whenReady } from './redis/connection.ts';

import { Health, startupReadiness } from './telemetry/health.ts';
import { EngineProbes, type EngineProbe } from './telemetry/engine-probes.ts';
import { GatehouseMetrics } from './telemetry/metrics.ts';
import { timedRepo, timedStore } from './telemetry/timed-store.ts';
import type { RequestObserver } from './gateway/observer.ts';
import type { UsageBatch } from './store/port.ts';
import { compileIpAllowlist, isLoopback } from './domain/ip-allowlist.ts';
import { MFA_CONSOLE_ROLES_BY_DEFAULT } from './domain/console-roles.ts';
import { KeyAddressRetention } from './usage/key-address-retention.ts';
import { UsageRecorder } from './usage/usage-recorder.ts';
import { StoreThread } from './writer/store-thread.ts';
import { DpopVerifier } from './verification/dpop.ts';
import { redisReplaySetWithFallback } from './verification/redis-replay-set.ts';
import { MemoryReplaySet, sharedReplaySet } from './verification/replay-set.ts';
import { externalIssuer, ownIssuer, type TrustedIssuer } from './verification/issuers.ts';
import { REVOCATION_FEED, RevocationList } from './verification/revocation-list.ts';
import { LOG_OPTIONS } from './telemetry/log-redaction.ts';

export interface Gatehouse {
  /** What this process runs (node.role, `gatehouse start --role`). */
  role: NodeRole;
  /** The gateway listener's URL; '' on a control node, which has none. */
  gatewayUrl: string;
  /** The plain-HTTP listener that redirects to the HTTPS gateway, when configured. */
  redirectUrl: string | null;
  /** The control listener's URL: the admin API and the authorization server; on a gateway node, only /livez, /readyz and /metrics. */
  controlUrl: string;
  ctx: ControlContext;
  /** The authorization server, when a master key is configured. */
  authorization: RunningAuthorization | null;
  /** Outcome counts by code since start. */
  outcomes: Map<string, number>;
  /** Background tasks and the store, as readiness reports them. */
  health: Health;
  /** Prometheus metrics (served at /metrics on the control listener); null with metrics.enabled false. */
  metrics: GatehouseMetrics | null;
  /** The request log's buffer (dropped(), pending(), flush()); null when `requestLog.enabled` is false. */
  requestLog: RequestLog | null;
  /** Usage analytics' counters (dropped(), pending(), flush()); null when `analytics.enabled` is false. */
  analytics: UsageAnalytics | null;
  /** Rotation hygiene's background tasks (docs/rotation.md): `scan()` and `retireDrained()` run a round now. Started on control and all nodes only. */
  rotation: RotationTasks;
  /** Webhook delivery (deliverNow() runs a round); null without a master key or with webhooks.enabled false. */
  webhooks: WebhookDispatcher | null;
  /** The scans for key.expiring, key.expired, ratelimit.sustained, login.failed_burst (scanNow()) and quota thresholds; null with webhooks off. */
  eventScans: EventScans | null;
  close(): Promise<void>;
}

/**
 * Wires one Gatehouse process explicitly: store, limiter, verifier, control plane and gateway.
 * The clock is injectable so tests can move time (quota periods, expiry, grace periods).
 */
export async function startGatehouse(
  config: Readonly<Config>,
  options: {
    clock?: () => number;
    logger?: pino.Logger;
    observers?: readonly RequestObserver[];
    /** How webhook destinations are resolved (default: the system's); tests resolve names their own way. */
    webhookResolve?: Resolve;
    /** Overrides node.role (`gatehouse start --role`). */
    role?: NodeRole;
  } = {},
): Promise<Gatehouse> {
  tuneHeapForProxying(config.gateway);
  const clock = options.clock ?? Date.now;
  const role = options.role ?? config.node.role;
  refuseSqliteGateway(config, role);
  refuseRedirectWithoutTls(config, role);
  // A gateway node runs the data plane only; a control node everything that must run once per deployment.
  const servesGateway = role !== 'control';
  const runsControl = role !== 'gateway';
  // Degraded mode (docs/deployment.md): a gateway node serves on from its caches while the store is
  // away, so the store, usage flushes and the revocation feed failing make it warn, not unready
  // (a load balancer would otherwise take every gateway out at once).
  const storeCritical = role !== 'gateway';
  // With tracing on, a line logged while a request's span is current names its trace_id and span_id.
  // Tracing's modules are loaded only when it is on (see startTracing).
  const log =
    options.logger ??
    pino({
      level: config.log.level,
      ...LOG_OPTIONS,
      ...(config.tracing.enabled ? { mixin: (await import('./telemetry/tracing.ts')).traceLogFields } : {}),
    });
  // Secrets files looser than owner-only (loadConfig refused those anyone may write): named, never read out.
  for (const { setting, file, problem } of config.secretFileWarnings) {
    log.warn({ setting, file }, `secrets file ${file} (${setting}) is ${problem}: make it readable by Gatehouse's user only (chmod 0400)`);
  }
  const plainGateway = servesGateway ? plainHttpGatewayWarning(config) : null;
  if (plainGateway) log.warn({ setting: 'gateway.tls' }, plainGateway);
  // Issuers whose access tokens the gateway accepts: the configured ones first (a bad one stops the
  // start before anything is opened), our own once its URL is known.
  const trusted: TrustedIssuer[] = await Promise.all(config.tokens.issuers.map((i) => externalIssuer(i)));
  const publicHost = gatewayPublicHost(config.gateway);
  const health = new Health(log, clock);
  const metrics = config.metrics.enabled ? new GatehouseMetrics({ perKeyLabels: config.metrics.perKeyLabels }) : null;
  metrics?.watch(health);
  health.register(STORE_COMPONENT, storeCritical);
  const tracing = config.tracing.enabled ? await startTracing(config, health, log) : null;
  const opened = await openStore(config, { health, clock });
  // Store latency is measured around the port, so every adapter gets it and none knows of metrics.
  const store = metrics ? timedStore(opened.store, metrics.storeTiming) : opened.store;
  const migrations = await store.migrate();
  if (migrations > 0) log.info({ migrations }, 'store migrated');

  const changes = createLocalChangeBus();
  // Changes made on other nodes reach this node's caches through the store; read from here on,
  // before any cache is filled, so none made while starting is missed.
  const changeFeed =
    config.changes.pollIntervalSeconds > 0
      ? new StoreChangeFeed({ audit: store.audit, changes, health, intervalMs: config.changes.pollIntervalSeconds * 1000 })
      : null;
  await changeFeed?.start();
  // With Redis, a change rings every node's doorbell and they read the feed at once, not at their next poll.
  const doorbell = changeFeed && (config.redis.url || config.redis.sentinels.length > 0) ? await startDoorbell(config, health, changeFeed) : null;
  // Usage batches and request records are written by a thread with its own connection, and the request
  // log is read by another: traffic-sized store work never runs on the event loop.
  const threadPath = opened.threadPath;
  const storeThread = (name: string) =>
    threadPath === null
      ? null
      : new StoreThread({
          name: `store ${name}`,
          path: threadPath,
          busyTimeoutMs: config.store.busyTimeoutMs,
          onError: (error) => log.error({ err: error }, `${name} thread failed`),
          onWarning: (message) => log.warn(`${name} thread: ${message}`),
        });
  const writer = storeThread('writer');
  const reader = storeThread('request-log reader');
  // The writer thread's writes are store calls too, timed as the store's own usage.record would be.
  const usageSink =
    writer && metrics ? timedRepo({ record: (batch: UsageBatch) => writer.record(batch) }, 'usage', metrics.storeTiming) : (writer ?? store.usage);
  const usage = new UsageRecorder(usageSink, { addressesPerKey: config.keyAddresses.perKey });
  usage.start(config.usage.flushIntervalSeconds * 1000, health, storeCritical);
  // Usage analytics' cells go to the writer thread and its reads to the reader, as the request log's do.
  const analyticsSink = writer?.usageAnalytics ?? store.usageAnalytics;
  const analytics = usageAnalyticsFor(config, metrics ? timedRepo(analyticsSink, 'usageAnalytics', metrics.storeTiming) : analyticsSink, health, clock);
  // Several gateway threads share one table of counters (limits/shared-table.ts); one thread keeps them in Maps.
  // Workers open the store themselves: an in-memory SQLite store exists only in this thread.
  // A control node serves no gateway: its limiter (the verify endpoint's) needs no shared table.
  const workerCount = !servesGateway || (config.store.driver === 'sqlite' && config.storePath === ':memory:') ? 1 : config.gateway.workers;
  const shared = workerCount > 1 ? SharedMemoryLimiter.create(config.gateway.sharedTableEntries) : null;
  const localLimiter = shared ?? new MemoryLimiter();
  // With Redis, limits and quotas are counted there, for every node; the local limiter answers while it is away.
  const redis = config.redis.url || config.redis.sentinels.length > 0 ? await connectRedis(config, 'gateway') : null;
  redis?.on('error', (error: unknown) => health.failed(REDIS_CONNECTION, error));
  redis?.on('ready', () => health.ok(REDIS_CONNECTION));
  if (redis) health.register(REDIS_CONNECTION, false);
  if (redis) await whenReady(redis, config.redis.commandTimeoutMs * 4);
  const limiter = redis ? new FallbackLimiter(new RedisLimiter(redis), localLimiter, fallbackOptions(config.redis, health)) : localLimiter;
  // /readyz reports each engine with its measured latency: a probe every few seconds, never per request.
  const probes = new EngineProbes({ probes: engineProbes(config, store, redis), intervalMs: ENGINE_PROBE_MS, timeoutMs: 1000, clock, health });
  probes.start();
  let started = false;
  const readiness = () => startupReadiness({ ...health.report(), role, engines: probes.report() }, started);
  const reportOverflows = shared ? overflowReporter(shared, health) : null;
  // Failed credential checks are counted in Redis too, so a guesser spreading attempts over nodes gains nothing.
  // The gateway's own failures are counted with the workers' in their shared table (the main thread serves until they do).
  const localThrottles = shared ? sharedThrottles(shared.table, ['gateway']) : memoryThrottles();
  const throttles = redis ? redisThrottles(redis, { nodes: config.redis.expectedNodes, health, local: localThrottles }) : localThrottles;
  const authFailures = { limit: config.authFailures.limit, windowMs: config.authFailures.windowSeconds * 1000, perAddress: true };
  const throttle = throttles({ name: 'gateway', ...authFailures });
  // The admin API counts its own failures: a local service with a broken API key must not lock the admin CLI out.
  const adminThrottle = throttles({ name: 'admin', ...authFailures });
  const verifier = keyVerifierFor(config, { store, limiter, usage, changes, clock, metrics, health });
  const identity = identityContext(config, store);
  // Webhook delivery and the event scans run on control nodes (they are safe on several: docs/deployment.md).
  const webhooks = runsControl ? webhooksFor(config, { store, health, log, clock, resolve: options.webhookResolve }) : null;
  const ctx: ControlContext = {
    store,
    requestLog: reader ?? store.requestLog,
    changes: doorbell ? ringingBus(changes, doorbell) : changes,
    peppers: config.peppers,
    usage,
    verifier,
    identityLimits: new IdentityLimits(limiter, counterUsage(usage, store)),
    clock,
    identity,
    bearerAvailable: identity !== null || config.tokens.issuers.length > 0,
    mtlsAvailable: Boolean(config.gateway.tls?.clientCaFile),
    analytics: analytics && {
      flush: () => analytics.flush(),
      query: (reader ?? store).usageAnalytics.query,
      retention: config.analytics,
      billingTimeZone: config.analytics.billingTimeZone,
      settleMs: Math.max(config.usage.flushIntervalSeconds, config.analytics.flushIntervalSeconds) * 1000 + 60_000,
    },
    incidents: {
      exposure: config.exposure,
      requestLogDays: config.requestLog.enabled ? config.requestLog.retentionDays : null,
      keyAddressDays: config.keyAddresses.retentionDays,
    },
    webhooks: webhooks?.context ?? null,
    portal: {
      signup: config.portal.signup,
      maxAppsPerDeveloper: config.portal.maxAppsPerDeveloper,
      maxKeysPerApp: config.portal.maxKeysPerApp,
      keyPolicy: config.portal.keyPolicy,
      keyEnvironment: config.portal.keyEnvironment,
      inviteTtlMs: config.portal.inviteTtlHours * 3_600_000,
      maxClientsPerApp: config.portal.maxClientsPerApp,
      clientGrantTypes: config.portal.clientGrantTypes,
      clientScopes: config.portal.clientScopes,
      maxWebhooksPerApp: config.portal.maxWebhooksPerApp,
    },
  };
  const revocations = new RevocationList(store.revocations, changes, clock);
  // Only our own tokens are revoked here; without an authorization server there is nothing to poll for.
  if (identity) {
    health.register(REVOCATION_FEED, storeCritical);
    await revocations.start(config.authorization.revocationPollSeconds * 1000, health);
  }
  // DPoP proof ids (RFC 9449 §11.1) are shared through Redis, so a proof used at one node is refused at all;
  // and the gateway threads' shared table, so one used at the main thread is refused at the workers.
  const localReplays = shared ? sharedReplaySet(shared.table) : new MemoryReplaySet();
  const replays = redis ? redisReplaySetWithFallback(redis, localReplays, { whenUnavailable: config.redis.whenUnavailable, health, clock }) : localReplays;
  const dpop = new DpopVerifier(config.tokens.dpopWindowSeconds, replays);
  let identitySigner: IdentityJwtSigner | null = null;
  let ownIssuerUrl: string | null = null;
  // The config file's APIs are written by control nodes; a gateway node reads them from the store.
  if (runsControl) await declareApis(ctx, config);
  const requestLog = requestLogFor(config, writer ?? store.requestLog, health, clock);

  const sweeper = setInterval(() => {
    localLimiter.sweep(clock());
    reportOverflows?.();
    throttle.sweep(clock());
    adminThrottle.sweep(clock());
    dpop.sweep(Math.floor(clock() / 1000));
  }, 60_000);
  sweeper.unref();

  // Keys seen over plain HTTP or in a query string are marked once each; the recent ones are remembered, so one
  // that keeps coming is not looked up again. Bounded by forgetting the oldest, never by ignoring new ones: a
  // flood of made-up keys (their checksum is public) must not stop a real key from being marked.
  const flagged = new LRUCache<string, true>({ max: 10_000 });
  const onExposed: OnExposed = (secret, ip, source) => {
    if (flagged.has(secret)) return;
    flagged.set(secret, true);
    // The control plane's services are loaded after the gateway serves; this rare path loads them itself.
    import('./control/services/keys.ts')
      .then(({ keysService }) => keysService.flagExposed(ctx, secret, ip, source))
      .catch((error: unknown) => log.error({ err: error }, 'marking an exposed key failed'));
  };
  const tls = config.gateway.tls ? tlsOptions(config.gateway.tls) : undefined;
  const plane = servesGateway
    ? await createDataPlane({
        config,
        log,
        clock,
        health,
        readiness,
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
        observers: options.observers ?? [],
        onExposed,
        ownIssuer: () => ownIssuerUrl,
        identityJwt: () => identitySigner,
      })
    : null;
  const gateway: ServingGateway | null =
    plane === null
      ? null
      : shared
        ? workersGateway(
            mainThreadGateway(config, log, health, plane, true),
            new GatewayWorkers({
              count: workerCount,
              config,
              table: shared.table,
              health,
              log,
              changes,
              pollRevocations: identity !== null,
              storeCritical,
              host: {
                usage: (batch) => usage.merge(batch),
                cells: (cells) => analyticsSink.add(cells),
                requests: async (batch) => {
                  await (writer ?? store.requestLog).append(batch);
                },
                exposed: onExposed,
                signingMaterial: async () => (await import('./control/services/signing-keys.ts')).activeSigningMaterial(ctx),
                lost: (records) => metrics?.addWorkerLosses(records),
              },
            }),
            log,
          )
        : mainThreadGateway(config, log, health, plane);
  metrics?.countLosses({ requestLog, analytics, usage, spans: tracing });
  requestLog?.start();
  analytics?.start();
  const addressRetention = runsControl
    ? new KeyAddressRetention({ sink: writer ?? store.keyAddresses, health, clock, retentionDays: config.keyAddresses.retentionDays })
    : null;
  addressRetention?.start();
  // Loaded with the control plane, once the gateway serves.
  let rotation: RotationTasks | null = null;
  webhooks?.dispatcher.start();
  // The events no change causes (docs/webhooks.md), found while webhooks are on. Quota thresholds are
  // checked by the node whose flush counted the use: a gateway node checks its own (each event has a
  // dedupe key, so several nodes crossing one threshold announce it once); the scans run on control nodes.
  const checksQuotas = webhooks !== null || (!runsControl && config.webhooks.enabled && config.masterKey !== null);
  const scans = checksQuotas ? eventScansFor(config, ctx, health) : null;
  if (scans) {
    const from = scans.quotaTotalsFromPercent;
    if (from !== null) usage.onFlushed((batch, totals) => scans.quotaFlushed(batch, totals), from);
    if (runsControl) scans.start();
  }
  let authorization: RunningAuthorization | null = null;
  let consoleApp: RunningConsole | null = null;
  let control: Server | null = null;
  // control.tls's files are watched as gateway.tls's are: a renewed certificate is served without a restart.
  let stopWatchingControlTls: (() => void) | null = null;
  const watchControlTls = (server: Server): void => {
    if (config.control.tls) stopWatchingControlTls = reloadOnChange(server as never, config.control.tls, { settings: 'control.tls', health, log });
  };

  let closing: Promise<void> | undefined;
  /** Idempotent: stops listening, closes pools, flushes usage, closes the store. */
  const shutdown = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(sweeper);
      stopWatchingControlTls?.();
      authorization?.close();
      consoleApp?.close();
      await probes.stop();
      // The gateway stops first: in-process it closes its listener and pools; workers hand over their
      // usage and request records too, so what follows flushes them with the main thread's own. Changes
      // and revocations keep arriving until it has: answers finishing in its grace see them.
      await Promise.all([...(gateway ? [gateway.close()] : []), ...(control ? [closeServer(control)] : []), ...(redirect ? [closeServer(redirect)] : [])]);
      revocations.stop();
      await changeFeed?.stop();
      doorbell?.close();
      // The spans of the requests just ended go out now, within the export timeout.
      await tracing?.shutdown().catch((error: unknown) => log.error({ err: error }, 'sending the last spans failed'));
      // Every answer has gone (the listeners are closed), so every request's record is buffered.
      // The last usage flush checks the quota thresholds its uses crossed: the scans stop after it.
      const lastUsage = usage.stop();
      const flushed = await Promise.allSettled([
        lastUsage,
        requestLog?.stop(),
        analytics?.stop(),
        addressRetention?.stop(),
        rotation?.stop(),
        webhooks?.dispatcher.stop(),
        lastUsage.then(
          () => scans?.stop(),
          () => scans?.stop(),
        ),
      ]);
      // A failed last flush is logged here (its counts or records are lost, and `gatehouse start`
      // exits 1 on it without a word) and still rejects the shutdown; the writer thread and the store
      // close either way.
      for (const result of flushed) if (result.status === 'rejected') log.error({ err: result.reason }, 'a last flush at stop failed');
      await Promise.all([writer?.close(), reader?.close()]);
      await store.close();
      redis?.disconnect();
      for (const result of flushed) if (result.status === 'rejected') throw result.reason;
    })());

  const redirect =
    gateway && tls && config.gateway.httpRedirectPort !== undefined
      ? createRedirectServer(publicHost!, () => gateway.port() ?? config.gateway.port, onExposed, connectionLimitsOf(config.gateway))
      : null;
  let redirectUrl: string | null = null;
  let gatewayUrl = '';
  let controlUrl: string;
  try {
    if (gateway) gatewayUrl = await gateway.listen(tls ? 'https' : 'http');
    if (redirect) redirectUrl = await listen(redirect, config.gateway.host, config.gateway.httpRedirectPort!);
    if (!runsControl) {
      // A gateway node: the control listener answers probes and metrics only (no admin API, no authorization server).
      const { createControlServer } = await import('./control/control-server.ts');
      control = createControlServer({
        admin: null,
        authorization: () => null,
        gatewayNode: true,
        health: readiness,
        metrics: metrics && metricsEndpoint(metrics, config.metrics.allowFrom, gateway?.scrape),
        tls: config.control.tls ? tlsOptions(config.control.tls) : undefined,
        limits: connectionLimitsOf(config.control),
        onError: (error) => log.error({ err: error }, 'ops listener error'),
      });
      watchControlTls(control);
      controlUrl = await listen(control, config.control.host, config.control.port, config.control.tls ? 'https' : 'http');
      if (ctx.identity)
        await trustOwnIssuerOnGateway(config, ctx, changes, clock, health, log, trusted, gateway!, (url, signer) => {
          ownIssuerUrl = url;
          identitySigner = signer;
        });
      // Constructed for the interface's sake (scan() on demand), never started: rotation runs on control nodes.
      const { RotationTasks } = await import('./control/services/rotation-tasks.ts');
      rotation = new RotationTasks({
        ctx,
        // Not declared to readiness: these tasks do not run here.
        health: { register: () => {}, ok: (c) => health.ok(c), failed: (c, e) => health.failed(c, e), run: (c, t) => health.run(c, t) },
        scanIntervalMs: config.rotation.scanIntervalSeconds * 1000,
        keysPerScan: config.rotation.keysPerScan,
        drainCheckIntervalMs: config.rotation.drainCheckIntervalSeconds * 1000,
        unseenUseMs: config.usage.flushIntervalSeconds * 1000,
      });
      await gateway?.allServing();
      started = true;
      log.info({ role, gatewayUrl, controlUrl }, 'gatehouse gateway node listening');
      return result();
    }
    // The control plane (admin API, OpenAPI document, oidc-provider: about half of what start-up imports)
    // is loaded once the gateway serves: the data plane answers first (issue 14, cold start). Loading is
    // synchronous work on this thread (one part holds it for about half a second), so with the gateway
    // on this thread it starts in a pause between requests (at most a second after listening), and goes
    // in parts with a turn of the event loop between them, in which requests that arrived meanwhile move on.
    await gateway?.quiet(QUIET_BEFORE_CONTROL_MS, MAX_WAIT_BEFORE_CONTROL_MS);
    await nextTurn();
    const [{ createAdminApi }, { createControlServer }, { getRequestListener }, { createStaticAssets, DEFAULT_ASSETS_DIR }] = await Promise.all([
      import('./control/admin/server.ts'),
      import('./control/control-server.ts'),
      import('@hono/node-server'),
      import('./control/console/static-assets.ts'),
    ]);
    await nextTurn();
    const admin = createAdminApi({
      ctx,
      maxBodyBytes: config.admin.maxBodyBytes,
      throttle: adminThrottle,
      onInternalError: (error, requestId) => log.error({ err: error, requestId }, 'admin API error'),
      onStorageError: (error, requestId) => log.error({ err: error, requestId }, 'admin API: the store refused a change'),
      tracing,
      console: () => consoleApp?.authentication ?? null,
    });
    const { RotationTasks } = await import('./control/services/rotation-tasks.ts');
    rotation = new RotationTasks({
      ctx,
      health,
      scanIntervalMs: config.rotation.scanIntervalSeconds * 1000,
      keysPerScan: config.rotation.keysPerScan,
      drainCheckIntervalMs: config.rotation.drainCheckIntervalSeconds * 1000,
      // Workers hand their uses to this thread's recorder every flush interval: a use may be that late here.
      // So do other nodes' uses, through the shared store.
      unseenUseMs: workerCount > 1 || role === 'control' || config.store.driver === 'postgres' ? config.usage.flushIntervalSeconds * 1000 : 0,
    });
    rotation.start();
    control = createControlServer({
      admin: getRequestListener(admin.fetch),
      authorization: () => authorization,
      health: readiness,
      starting: () => !started,
      metrics: metrics && metricsEndpoint(metrics, config.metrics.allowFrom, gateway?.scrape),
      tls: config.control.tls ? tlsOptions(config.control.tls) : undefined,
      limits: connectionLimitsOf(config.control),
      onError: (error) => log.error({ err: error }, 'control plane error'),
      secretScanning: await secretScanningReceivers(config, ctx, clock, log),
      console: () => consoleApp,
      portal: () => consoleApp?.portal ?? null,
      assets: createStaticAssets(config.console.assetsDir ?? DEFAULT_ASSETS_DIR, (error) =>
        log.error({ err: error }, 'web app assets: a file could not be read or compressed'),
      ),
    });
    watchControlTls(control);
    controlUrl = await listen(control, config.control.host, config.control.port, config.control.tls ? 'https' : 'http');
    if (ctx.identity) {
      await nextTurn();
      const [{ startAuthorization }, { activeSigningMaterial }] = await Promise.all([
        import('./control/authorization/start-authorization.ts'),
        import('./control/services/signing-keys.ts'),
      ]);
      await nextTurn();
      const issuer = config.authorization.issuer ?? controlUrl;
      authorization = await startAuthorization(
        ctx,
        config,
        issuer,
        revocations,
        health,
        (error) => log.error({ err: error }, 'authorization server error'),
        metrics?.tokenRequest,
        tracing,
        throttles,
      );
      // Turned off in the configuration (demo mode does, on purpose): said at every start, not left to be found.
      const withoutMfa = MFA_CONSOLE_ROLES_BY_DEFAULT.filter((r) => !config.authorization.mfaRequiredConsoleRoles.includes(r));
      if (withoutMfa.length > 0) {
        log.warn(
          { consoleRoles: withoutMfa },
          `console role ${withoutMfa.join(' and ')} may sign in without a second factor (authorization.mfaRequiredConsoleRoles); users flagged mfaRequired still need one`,
        );
      }
      const own = ownIssuer(authorization.server.issuer, store.signingKeys, changes, clock, health);
      await own.refresh();
      trusted.push(own);
      ownIssuerUrl = own.issuer;
      const signer = new IdentityJwtSigner(authorization.server.issuer, () => activeSigningMaterial(ctx));
      changes.subscribe((event) => event.type === 'signing_keys.changed' && signer.reset());
      identitySigner = signer;
      gateway?.trustOwnIssuer(own.issuer);
      const { startConsole } = await import('./control/console/start-console.ts');
      consoleApp = await startConsole({
        ctx,
        config,
        issuer: authorization.server.issuer,
        controlUrl,
        gatewayUrl: publicGatewayUrl(config, gatewayUrl),
        health,
        onError: (error) => log.error({ err: error }, 'web app (BFF) error'),
      });
    } else {
      log.warn('no master key: the authorization server is off (set GATEHOUSE_MASTER_KEY_FILE)');
    }
    await gateway?.allServing();
  } catch (error) {
    await shutdown();
    throw error;
  }
  started = true;
  log.info({ role, gatewayUrl, redirectUrl, controlUrl }, 'gatehouse listening');
  return result();

  function result(): Gatehouse {
    return {
      role,
      gatewayUrl,
      redirectUrl,
      controlUrl,
      ctx,
      authorization,
      outcomes: gateway?.outcomes ?? new Map(),
      health,
      metrics,
      requestLog,
      analytics,
      rotation: rotation!,
      webhooks: webhooks?.dispatcher ?? null,
      eventScans: scans ?? null,
      close: shutdown,
    };
  }
}

/** How often each engine is probed for /readyz. */
const ENGINE_PROBE_MS = 2000;

/** The engines /readyz reports: the store's (postgres or sqlite) and Redis when configured. */
function engineProbes(config: Readonly<Config>, store: { ping(): Promise<void> }, redis: { ping(): Promise<unknown> } | null): EngineProbe[] {
  return [{ engine: config.store.driver, ping: () => store.ping() }, ...(redis ? [{ engine: 'redis', ping: () => redis.ping() }] : [])];
}

/**
 * A gateway node is one of several that hold no state of their own; SQLite is a file on one
 * machine's disk, which nodes on other machines cannot share (and must not, over a network file
 * system: its locks do not hold there). So a gateway node on SQLite is refused unless the operator
 * says every node runs on this machine beside it (node.singleMachine: a gateway process next to a
 * control process, sharing the file).
 */
function refuseSqliteGateway(config: Readonly<Config>, role: NodeRole): void {
  if (role !== 'gateway' || config.store.driver !== 'sqlite' || config.node.singleMachine) return;
  throw new ConfigError(
    'a gateway node (--role gateway) needs the shared PostgreSQL store (store.driver postgres): the embedded SQLite store is a file ' +
      'on one machine that nodes on other machines cannot share. Run one node with --role all on SQLite, or set node.singleMachine ' +
      'true if every node runs on this machine and shares the file.',
  );
}

/**
 * A gateway without gateway.tls speaks plain HTTP, and (plaintextCredentials refuse, the default)
 * refuses every request that carries a credential, flagging each API key in one as exposed, which the
 * exposure policy then disables or revokes, unless it came through a trusted proxy that says it took
 * HTTPS (X-Forwarded-Proto). A configuration that leaves tls out and lists no proxy started with
 * nothing said, and the first real call cost its key. Said at start; null when there is nothing to say.
 */
export function plainHttpGatewayWarning(config: Readonly<Config>): string | null {
  if (config.gateway.tls || config.gateway.plaintextCredentials !== 'refuse' || config.gateway.trustedProxies.length > 0) return null;
  return (
    'the gateway speaks plain HTTP (no gateway.tls) and no gateway.trustedProxies terminate TLS before it: every request carrying ' +
    'a credential is refused (403 CREDENTIALS_OVER_HTTP) and an API key in one is flagged exposed (the exposure policy acts on it). ' +
    'Set gateway.tls, or list the TLS-terminating proxy in gateway.trustedProxies'
  );
}

/**
 * gateway.httpRedirectPort is a plain-HTTP listener that redirects to the HTTPS gateway: without
 * gateway.tls there is none to redirect to, and the listener was silently not started. Checked here,
 * not when the configuration is read: demo mode reads it once before adding its own certificate.
 */
function refuseRedirectWithoutTls(config: Readonly<Config>, role: NodeRole): void {
  if (role === 'control' || config.gateway.tls || config.gateway.httpRedirectPort === undefined) return;
  throw new ConfigError(
    'gateway.httpRedirectPort starts a plain-HTTP listener that redirects to the HTTPS gateway: it needs gateway.tls (certFile and keyFile), which is not set',
  );
}

/**
 * Our own issuer's tokens on a gateway node, which runs no authorization server: trusted when
 * authorization.issuer names the control nodes' issuer (their signing keys are read from the store).
 */
async function trustOwnIssuerOnGateway(
  config: Readonly<Config>,
  ctx: ControlContext,
  changes: ChangeBus,
  clock: () => number,
  health: Health,
  log: pino.Logger,
  trusted: TrustedIssuer[],
  gateway: ServingGateway,
  set: (issuer: string, signer: IdentityJwtSigner) => void,
): Promise<void> {
  const issuer = config.authorization.issuer;
  if (!issuer) {
    log.warn('gateway node without authorization.issuer: tokens of our own authorization server are not accepted here');
    return;
  }
  const { activeSigningMaterial } = await import('./control/services/signing-keys.ts');
  const own = ownIssuer(issuer, ctx.store.signingKeys, changes, clock, health);
  await own.refresh();
  trusted.push(own);
  const signer = new IdentityJwtSigner(own.issuer, () => activeSigningMaterial(ctx));
  changes.subscribe((event) => event.type === 'signing_keys.changed' && signer.reset());
  set(own.issuer, signer);
  gateway.trustOwnIssuer(own.issuer);
}

/** /metrics for this machine, and for the configured addresses: the gateway workers' summed with the main thread's. */
function metricsEndpoint(metrics: GatehouseMetrics, allowFrom: readonly string[], gateway: ServingGateway['scrape']) {
  const allowed = compileIpAllowlist(allowFrom);
  const scrape = gateway ? async () => gateway(await metrics.registry.getMetricsAsJSON()) : () => metrics.scrape();
  return { allows: (ip: string) => isLoopback(ip) || allowed.allows(ip), contentType: metrics.contentType, scrape };
}

/** The shared table refused counters since the last sweep: readiness warns until a sweep sees none. */
const SHARED_TABLE = 'shared-limit-table';
async function startDoorbell(config: Config, health: Health, feed: StoreChangeFeed): Promise<RedisDoorbell> {
  // Declared before the first report: an error while connecting would otherwise declare it critical.
  health.register(REDIS_CONNECTION, false);
  const publisher = await connectRedis(config, 'doorbell');
  publisher.on('error', (error: unknown) => health.failed(REDIS_CONNECTION, error));
  const subscriber = await connectSubscriber(config);
  subscriber.on('error', (error: unknown) => health.failed(CHANGE_DOORBELL, error));
  const doorbell = new RedisDoorbell(publisher, subscriber, health);
  // A change made before the publisher is connected would ring no one (until the next poll).
  await whenReady(publisher, config.redis.commandTimeoutMs * 4);
  await doorbell.listen(() => feed.poke());
  return doorbell;
}

/** A subscriber connection: unlike the others it must queue its SUBSCRIBE until connected, and never time out waiting for messages. */
async function connectSubscriber(config: Config) {
  const subscriber = await connectRedis(config, 'doorbell-subscriber');
  subscriber.options.enableOfflineQueue = true;
  subscriber.options.commandTimeout = undefined;
  return subscriber;
}

/** The code hosts' secret-scanning endpoints that are configured (docs/scanning.md); undefined: none. */
async function secretScanningReceivers(config: Config, ctx: ControlContext, clock: () => number, log: pino.Logger) {
  const github = config.secretScanning.github;
  if (github.publicKeys.length === 0 && !github.publicKeysUrl) return undefined;
  const [{ GITHUB_RECEIVER_PATH, githubSecretScanningReceiver }, { SigningKeySet }] = await Promise.all([
    import('./control/secret-scanning/github.ts'),
    import('./control/secret-scanning/public-keys.ts'),
  ]);
  return {
    [GITHUB_RECEIVER_PATH]: githubSecretScanningReceiver({
      ctx,
      keys: new SigningKeySet({
        configured: github.publicKeys,
        url: github.publicKeysUrl ?? null,
        cacheMs: github.publicKeysCacheSeconds * 1000,
        clock,
        onRefreshFailed: (error) => log.warn({ err: error }, 'secret scanning: refreshing the public keys failed; the keys fetched before are used'),
      }),
      maxBodyBytes: github.maxBodyBytes,
      maxTokens: github.maxTokens,
      log,
    }),
  };
}

function overflowReporter(limiter: SharedMemoryLimiter, health: Health): () => void {
  health.register(SHARED_TABLE, false);
  let reported = 0;
  return () => {
    const overflows = limiter.table.overflows;
    if (overflows === reported) return health.ok(SHARED_TABLE);
    health.failed(
      SHARED_TABLE,
      new Error(`${overflows - reported} new counters refused: the shared table (gateway.sharedTableEntries = ${limiter.table.capacity}) is full`),
    );
    reported = overflows;
  };
}

/** APIs declared in the config file are created, or updated to match, by name. */
async function declareApis(ctx: ControlContext, config: Readonly<Config>): Promise<void> {
  if (config.apis.length === 0) return;
  const { apisService } = await import('./control/services/apis.ts');
  const existing = await ctx.store.apis.all();
  const actor = { actor: 'config', requestId: null };
  for (const declared of config.apis) {
    const found = existing.find((a) => a.name === declared.name);
    if (!found) await apisService.create(ctx, actor, declared);
    else if (!apisService.matches(found, declared)) await apisService.replace(ctx, actor, found.id, declared);
  }
}

/** A gap between requests this long, or this long after listening at most, before the control plane loads. */
const QUIET_BEFORE_CONTROL_MS = 20;
const MAX_WAIT_BEFORE_CONTROL_MS = 1000;

/** After the I/O that is ready has been handled (setImmediate runs after the poll phase). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Where developers call the gateway: `gateway.publicHost` when set (behind its name), else the address it listens on. */
function publicGatewayUrl(config: Readonly<Config>, listening: string): string {
  const host = config.gateway.publicHost;
  return host ? `${new URL(listening).protocol}//${host}` : listening;
}
