import { MessageChannel, Worker, type ResourceLimits } from 'node:worker_threads';
import type { Logger } from 'pino';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Config } from '../config/load.ts';
import type { ChangeBus } from '../events/change-bus.ts';
import type { OnExposed } from '../gateway/stages/transport.ts';
import type { SharedTable } from '../limits/shared-table.ts';
import type { Health } from '../telemetry/health.ts';
import { lostRecordsIn, type LostRecords } from '../telemetry/metrics.ts';
import { StorageUnavailableError, type UsageBatch, type UsageCell } from '../store/port.ts';
import type { EntryBatch } from '../store/entry-batch.ts';
import { fromBatchColumns } from '../store/usage-batch-columns.ts';
import { fromCellColumns } from '../store/usage-cell-columns.ts';
import { ChangeBroadcast } from './change-feed.ts';
import type { FromWorker, ToWorker, WorkerCall, WorkerSetup } from './messages.ts';

/** What the main thread does for its workers: the control plane's side of their calls. */
export interface WorkerHost {
  usage(batch: UsageBatch): void;
  requests(batch: EntryBatch): Promise<void>;
  cells(cells: readonly UsageCell[]): Promise<void>;
  exposed: OnExposed;
  signingMaterial(): Promise<unknown>;
  /** What a worker lost (gatehouse_records_lost_total's series), told once as it exits: counted on by the main thread's metrics. */
  lost(records: Partial<LostRecords>): void;
}

type Metrics = MetricObjectWithValues<MetricValue<string>>[];

/** A worker that died is started again after this long (and not more often). */
const RESTART_DELAY_MS = 1000;
/** The longest wait between two tries of a worker that does not start. */
const MAX_RESTART_DELAY_MS = 30_000;
/** How often the main thread's readiness is published to the workers' /readyz. */
const NODE_READY_MS = 250;
/** A worker that has not answered a metrics scrape by then is left out of it. */
const METRICS_TIMEOUT_MS = 2000;

interface Running {
  worker: Worker;
  stopped: Promise<void>;
  pendingMetrics: Map<number, (value: Metrics) => void>;
  /** What it lost as it last said: at its stop, else in its last metrics scrape (a worker that dies says nothing more). */
  lost: Partial<LostRecords>;
}

/**
 * The gateway on `count` worker threads (gateway.workers > 1), from the main thread, which keeps the
 * control plane, the store's writer and the one usage recorder. Each worker is a readiness component
 * (`gateway-worker-N`, critical) and reports its own components as `gateway-worker-N/<name>`; one that
 * dies is reported, its stripe locks freed, and it is started again after a second.
 */
export class GatewayWorkers {
  readonly #count: number;
  readonly #config: Readonly<Config>;
  readonly #table: SharedTable;
  readonly #health: Health;
  readonly #log: Logger;
  readonly #host: WorkerHost;
  readonly #pollRevocations: boolean;
  readonly #storeCritical: boolean;
  readonly #broadcast: ChangeBroadcast;
  readonly #running = new Map<number, Running>();
  /** Each worker's young generation capped (gateway.workerYoungGenerationMb), else V8's own sizing. */
  readonly #resourceLimits: ResourceLimits;
  /** The node's readiness as the main thread sees it, for the workers' /readyz (WorkerSetup.nodeReady). */
  readonly #nodeReady = new Int32Array(new SharedArrayBuffer(4));
  #nodeReadyTimer: NodeJS.Timeout | undefined;
  #port = 0;
  #ownIssuer: string | null = null;
  #stopping = false;
  #nextId = 1;

  constructor(options: {
    count: number;
    config: Readonly<Config>;
    table: SharedTable;
    health: Health;
    log: Logger;
    changes: ChangeBus;
    host: WorkerHost;
    pollRevocations: boolean;
    /** False on gateway nodes, which serve on from their caches while the store is away. */
    storeCritical?: boolean;
  }) {
    this.#count = options.count;
    this.#config = options.config;
    this.#table = options.table;
    this.#health = options.health;
    this.#log = options.log;
    this.#host = options.host;
    this.#pollRevocations = options.pollRevocations;
    this.#storeCritical = options.storeCritical ?? true;
    this.#broadcast = new ChangeBroadcast(options.changes);
    const youngMb = options.config.gateway.workerYoungGenerationMb;
    this.#resourceLimits = youngMb > 0 ? { maxYoungGenerationSizeMb: youngMb } : {};
  }

  /** Starts every worker on `port`, which the main thread's listener holds already (SO_REUSEPORT); resolves once all listen. */
  async start(port: number): Promise<void> {
    this.#port = port;
    const publish = () => Atomics.store(this.#nodeReady, 0, this.#health.report().ready ? 1 : 0);
    publish();
    this.#nodeReadyTimer = setInterval(publish, NODE_READY_MS).unref();
    await Promise.all(Array.from({ length: this.#count }, (_, i) => this.#start(i)));
  }

  /** Our own issuer is up: its tokens are accepted and it signs identity JWTs, at every worker. */
  trustOwnIssuer(issuer: string): void {
    this.#ownIssuer = issuer;
    for (const { worker } of this.#running.values()) worker.postMessage({ type: 'own-issuer', issuer } satisfies ToWorker);
  }

  /** Every worker's metrics and the main thread's, as one registry's text: sums across workers. */
  async scrape(own: Metrics): Promise<string> {
    const theirs = await Promise.all([...this.#running.values()].map((running) => this.#metricsOf(running)));
    // process_* describe the one process every thread reads: the main thread's own say it once.
    const perThread = theirs.map((metrics) => metrics.filter((m) => !m.name.startsWith('process_')));
    return AggregatorRegistry.aggregate([own, ...perThread]).metrics();
  }

  /** Asks every worker to stop listening and hand over its usage and request records; waits for all. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#nodeReadyTimer);
    await Promise.all(
      [...this.#running.values()].map(({ worker, stopped }) => {
        worker.postMessage({ type: 'stop' } satisfies ToWorker);
        return stopped;
      }),
    );
  }

  #start(index: number): Promise<void> {
    const component = `gateway-worker-${index}`;
    this.#health.register(component, true);
    const channel = new MessageChannel();
    this.#broadcast.attach(index, channel.port1);
    const setup: WorkerSetup = {
      index,
      config: this.#config,
      port: this.#port,
      table: this.#table.buffer,
      generation: this.#broadcast.generation,
      changes: channel.port2,
      pollRevocations: this.#pollRevocations,
      ownIssuer: this.#ownIssuer,
      storeCritical: this.#storeCritical,
      nodeReady: this.#nodeReady.buffer as SharedArrayBuffer,
    };
    const worker = new Worker(new URL('./gateway-worker.ts', import.meta.url), {
      name: `gateway-worker-${index}`,
      workerData: setup,
      transferList: [channel.port2],
      resourceLimits: this.#resourceLimits,
    });
    const threadId = worker.threadId;
    let markStopped!: () => void;
    const running: Running = { worker, stopped: new Promise((resolve) => (markStopped = resolve)), pendingMetrics: new Map(), lost: {} };
    this.#running.set(index, running);
    return new Promise<void>((resolve, reject) => {
      let listening = false;
      let failure: Error | null = null;
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'listening') {
          listening = true;
          this.#health.ok(component);
          resolve();
        } else this.#onMessage(index, running, message);
      });
      worker.on('error', (error) => {
        failure = error;
        this.#log.error({ err: error, worker: index }, 'gateway worker failed');
        if (!listening) reject(error);
      });
      worker.on('exit', (code) => {
        this.#running.delete(index);
        this.#broadcast.detach(index);
        // Its registry goes with it: what it lost is the main thread's to count from now on, before a
        // scrape can leave it out (the counter would go down) and before a new worker starts from zero.
        this.#host.lost(running.lost);
        markStopped();
        for (const answer of running.pendingMetrics.values()) answer([]);
        // A worker that died inside a limiter call would hold its stripes forever.
        const freed = this.#table.releaseHeldBy(threadId);
        if (this.#stopping) return void (listening || reject(new Error(`gateway worker ${index} stopped before listening`)));
        // One that failed to start says why (a TLS key or CA file refused, the store not opened), not only that it exited.
        const why = !listening && failure ? `: ${failure.message}` : '';
        this.#health.failed(component, new Error(`gateway worker ${index} exited (code ${code})${freed ? `, holding ${freed} limiter locks` : ''}${why}`));
        if (!listening) return reject(new Error(`gateway worker ${index} exited before listening (code ${code})`));
        this.#restartLater(index, component, RESTART_DELAY_MS);
      });
    });
  }

  /**
   * Starts a worker that died again after `delayMs`; one that cannot start now (its store open failed,
   * say) is tried again, less often each time, so a blip does not leave the node a worker short, and
   * unready, for good.
   */
  #restartLater(index: number, component: string, delayMs: number): void {
    setTimeout(() => {
      if (this.#stopping) return;
      this.#start(index).catch((error: unknown) => {
        this.#health.failed(component, error);
        this.#restartLater(index, component, Math.min(delayMs * 2, MAX_RESTART_DELAY_MS));
      });
    }, delayMs).unref();
  }

  #onMessage(index: number, running: Running, message: FromWorker): void {
    switch (message.type) {
      case 'call':
        return void this.#answer(message.call).then(
          (value) => running.worker.postMessage({ type: 'reply', id: message.id, ok: true, value } satisfies ToWorker),
          (error: unknown) =>
            running.worker.postMessage({
              type: 'reply',
              id: message.id,
              ok: false,
              message: error instanceof Error ? error.message : String(error),
              // A worker keeps what the store was away for and drops only what it refused (usage/analytics.ts).
              unavailable: error instanceof StorageUnavailableError,
            } satisfies ToWorker),
        );
      case 'reply': {
        const answer = running.pendingMetrics.get(message.id);
        running.pendingMetrics.delete(message.id);
        const metrics = message.ok ? (message.value as Metrics) : [];
        if (answer && message.ok) running.lost = lostRecordsIn(metrics);
        return answer?.(metrics);
      }
      case 'health': {
        const component = `gateway-worker-${index}/${message.component}`;
        if (message.ok === null) this.#health.register(component, message.critical);
        else if (message.ok) this.#health.ok(component);
        else this.#health.failed(component, new Error(message.error ?? 'failed'));
        return;
      }
      case 'exposed':
        return this.#host.exposed(message.secret, message.ip, message.source);
      case 'stopped':
        running.lost = message.lost;
        return;
      case 'listening':
        return;
    }
  }

  async #answer(call: WorkerCall): Promise<unknown> {
    switch (call.kind) {
      case 'usage':
        return this.#host.usage(fromBatchColumns(call.batch));
      case 'requests':
        return this.#host.requests(call.batch);
      case 'usage-cells':
        return this.#host.cells(fromCellColumns(call.cells));
      case 'signing-material':
        return this.#host.signingMaterial();
    }
  }

  #metricsOf(running: Running): Promise<Metrics> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        running.pendingMetrics.delete(id);
        resolve([]);
      }, METRICS_TIMEOUT_MS);
      running.pendingMetrics.set(id, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
      running.worker.postMessage({ type: 'metrics', id } satisfies ToWorker);
    });
  }
}
