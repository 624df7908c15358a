import { Worker } from 'node:worker_threads';
import type { EntryBatch } from '../store/entry-batch.ts';
import { toBatchColumns, type UsageBatchColumns } from '../store/usage-batch-columns.ts';
import { toCellColumns, type UsageCellColumns } from '../store/usage-cell-columns.ts';
import {
  StorageUnavailableError,
  type KeyAddressRepo,
  type Page,
  type PageQuery,
  type QuotaTotal,
  type RequestLogEntry,
  type RequestLogFilters,
  type RequestLogRepo,
  type UsageAnalyticsRepo,
  type UsageBatch,
  type UsageGranularity,
  type UsageQuery,
  type UsageRepo,
  type UsageRow,
} from '../store/port.ts';

/** What the request thread asks of a store thread; each but `close` is answered by id. */
export type StoreThreadRequest =
  | { type: 'record'; id: number; batch: UsageBatchColumns }
  | { type: 'requests'; id: number; batch: EntryBatch }
  | { type: 'prune-requests'; id: number; day: string; limit: number }
  | { type: 'prune-addresses'; id: number; before: number; limit: number }
  | { type: 'query-requests'; id: number; filters: RequestLogFilters; page: PageQuery }
  | { type: 'usage-cells'; id: number; cells: UsageCellColumns }
  | { type: 'prune-usage'; id: number; granularity: UsageGranularity; before: number; limit: number }
  | { type: 'query-usage'; id: number; query: UsageQuery }
  | { type: 'close' };
export type StoreThreadReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; unavailable: boolean; message: string }
  /** Something the thread could not set up but works without (its lower priority): for the log. */
  | { warning: string };

/** The store threads' nice value: above the gateway's 0, so it is scheduled first on a shared CPU. */
export const BACKGROUND_NICE = 10;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  /** The thread the call went to: only its failure fails the call. */
  worker: Worker;
}

/** Messages that carry an id (every one but `close`), before the id is given. */
type Call = Exclude<StoreThreadRequest, { type: 'close' }>;
type Unsent = { [T in Call['type']]: Omit<Extract<Call, { type: T }>, 'id'> }[Call['type']];

/**
 * A worker thread that owns its own SQLite connection, for store work that grows with traffic, so it
 * never runs on the event loop that serves requests: the request thread pays one postMessage per
 * call. Gatehouse runs two. The writer takes usage batches, request-log records, usage-analytics
 * cells and the cutting of old request-log days, rollup buckets and key addresses, in order, one transaction each.
 * The reader answers the admin API's request-log and usage queries, which may scan many rows; a read never waits for the writer (WAL), and a long
 * one delays neither the gateway nor the writes. A thread that dies fails the calls in flight (their
 * callers keep, count or report what they sent) and is started again on the next call.
 */
export class StoreThread implements Pick<UsageRepo, 'record'>, RequestLogRepo, Pick<KeyAddressRepo, 'deleteSeenBefore'> {
  /** Usage analytics: cells added into the rollups, old buckets cut (the writer), queries (the reader). */
  readonly usageAnalytics: UsageAnalyticsRepo = {
    add: async (cells) => void (await this.#send({ type: 'usage-cells', cells: toCellColumns(cells) })),
    deleteBefore: async (granularity, before, limit) => (await this.#send({ type: 'prune-usage', granularity, before, limit })) as number,
    query: async (query) => (await this.#send({ type: 'query-usage', query })) as UsageRow[],
  };

  readonly #script: URL;
  readonly #name: string;
  readonly #path: string;
  readonly #busyTimeoutMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #onWarning: (message: string) => void;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | null = null;
  #nextId = 1;

  /**
   * `onError`: the thread itself failed (not a call: those reject their own promise). `onWarning`:
   * something it runs without (its lower priority), for the log.
   */
  constructor(options: {
    name?: string;
    path: string;
    busyTimeoutMs: number;
    onError: (error: unknown) => void;
    onWarning: (message: string) => void;
    /** The thread's module; tests give one that fails on cue. Default: store-thread-worker.ts. */
    script?: URL;
  }) {
    this.#script = options.script ?? new URL('./store-thread-worker.ts', import.meta.url);
    this.#name = options.name ?? 'store';
    this.#path = options.path;
    this.#busyTimeoutMs = options.busyTimeoutMs;
    this.#onError = options.onError;
    this.#onWarning = options.onWarning;
  }

  async record(batch: UsageBatch): Promise<QuotaTotal[]> {
    return (await this.#send({ type: 'record', batch: toBatchColumns(batch) })) as QuotaTotal[];
  }

  /** Request-log entries as the request log's buffer holds them (entry-batch.ts): sent as they are. */
  async append(batch: EntryBatch): Promise<void> {
    await this.#send({ type: 'requests', batch });
  }

  async deleteBefore(day: string, limit: number): Promise<number> {
    return (await this.#send({ type: 'prune-requests', day, limit })) as number;
  }

  async deleteSeenBefore(before: number, limit: number): Promise<number> {
    return (await this.#send({ type: 'prune-addresses', before, limit })) as number;
  }

  async query(filters: RequestLogFilters, page: PageQuery): Promise<Page<RequestLogEntry>> {
    return (await this.#send({ type: 'query-requests', filters, page })) as Page<RequestLogEntry>;
  }

  /** Waits for the thread to finish what it was given and close its connection. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = null;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies StoreThreadRequest);
    await exited;
  }

  #send(request: Unsent): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const worker = this.#thread();
      this.#pending.set(id, { resolve, reject, worker });
      worker.postMessage({ ...request, id } satisfies StoreThreadRequest);
    });
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(this.#script, {
      // The name shows in diagnostic reports and the inspector.
      name: this.#name,
      workerData: { path: this.#path, busyTimeoutMs: this.#busyTimeoutMs },
    });
    worker.on('message', (reply: StoreThreadReply) => this.#settle(reply));
    worker.on('error', (error) => {
      this.#onError(error);
      this.#failAll(worker, error);
    });
    worker.on('exit', (code) => this.#failAll(worker, new Error(`the store thread exited (code ${code})`)));
    this.#worker = worker;
    return worker;
  }

  #settle(reply: StoreThreadReply): void {
    if ('warning' in reply) return this.#onWarning(reply.warning);
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(reply.unavailable ? new StorageUnavailableError(reply.message, { cause: null }) : new Error(reply.message));
  }

  /**
   * Fails the calls in flight on a thread that died ('error', then 'exit'). Only that thread's: a call
   * made after its 'error' went to a new thread, and failing it too would have its caller put back
   * counts the new thread may still write (counted twice).
   */
  #failAll(worker: Worker, error: Error): void {
    if (this.#worker === worker) this.#worker = null;
    for (const [id, pending] of this.#pending) {
      if (pending.worker !== worker) continue;
      this.#pending.delete(id);
      pending.reject(error);
    }
  }
}
