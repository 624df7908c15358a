import { Worker } from 'node:worker_threads';
import { StorageUnavailableError, type RequestLogEntry, type RequestLogRepo, type UsageBatch, type UsageRepo } from '../store/port.ts';

/** What the request thread asks of the writer thread; each but `close` is answered by id. */
export type WriterRequest =
  | { type: 'record'; id: number; batch: UsageBatch }
  | { type: 'requests'; id: number; entries: readonly RequestLogEntry[] }
  | { type: 'prune-requests'; id: number; day: string; limit: number }
  | { type: 'close' };
export type WriterReply = { id: number; ok: true; value?: number } | { id: number; ok: false; unavailable: boolean; message: string };

interface Pending {
  resolve: (value: number) => void;
  reject: (error: Error) => void;
}

/** Messages of a kind that carries an id: the ones `#send` answers. */
type Call = Exclude<WriterRequest, { type: 'close' }>;
type Unsent = { [T in Call['type']]: Omit<Extract<Call, { type: T }>, 'id'> }[Call['type']];

/**
 * Traffic-sized writes (usage batches, request-log records, and cutting old request-log days) done
 * by a worker thread that owns its own SQLite connection (writer/), so the write never runs on the
 * event loop: the request thread pays one postMessage per part. The thread takes messages in order,
 * one transaction each. A thread that dies fails the calls in flight (their callers keep or count
 * what they sent) and is started again on the next call.
 */
export class ThreadedWriter implements Pick<UsageRepo, 'record'>, Pick<RequestLogRepo, 'append' | 'deleteBefore'> {
  readonly #path: string;
  readonly #busyTimeoutMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | null = null;
  #nextId = 1;

  /** `onError`: the thread itself failed (not a call: those reject their own promise). */
  constructor(options: { path: string; busyTimeoutMs: number; onError: (error: unknown) => void }) {
    this.#path = options.path;
    this.#busyTimeoutMs = options.busyTimeoutMs;
    this.#onError = options.onError;
  }

  async record(batch: UsageBatch): Promise<void> {
    await this.#send({ type: 'record', batch });
  }

  async append(entries: readonly RequestLogEntry[]): Promise<void> {
    await this.#send({ type: 'requests', entries });
  }

  deleteBefore(day: string, limit: number): Promise<number> {
    return this.#send({ type: 'prune-requests', day, limit });
  }

  /** Waits for the thread to finish what it was given and close its connection. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = null;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies WriterRequest);
    await exited;
  }

  #send(request: Unsent): Promise<number> {
    const id = this.#nextId++;
    return new Promise<number>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#thread().postMessage({ ...request, id } satisfies WriterRequest);
    });
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./usage-writer-thread.ts', import.meta.url), { workerData: { path: this.#path, busyTimeoutMs: this.#busyTimeoutMs } });
    worker.on('message', (reply: WriterReply) => this.#settle(reply));
    worker.on('error', (error) => {
      this.#onError(error);
      this.#failAll(worker, error);
    });
    worker.on('exit', (code) => this.#failAll(worker, new Error(`the writer thread exited (code ${code})`)));
    this.#worker = worker;
    return worker;
  }

  #settle(reply: WriterReply): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (reply.ok) pending.resolve(reply.value ?? 0);
    else pending.reject(reply.unavailable ? new StorageUnavailableError(reply.message, { cause: null }) : new Error(reply.message));
  }

  #failAll(worker: Worker, error: Error): void {
    if (this.#worker === worker) this.#worker = null;
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(error);
    }
  }
}
