import { Worker } from 'node:worker_threads';
import { StorageUnavailableError, type UsageBatch, type UsageRepo } from '../store/port.ts';

export type WriterRequest = { type: 'record'; id: number; batch: UsageBatch } | { type: 'close' };
export type WriterReply = { id: number; ok: true } | { id: number; ok: false; unavailable: boolean; message: string };

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Usage batches written by a worker thread that owns its own SQLite connection (writer/), so the
 * traffic-sized write never runs on the event loop: the request thread pays one postMessage per flush.
 * A thread that dies fails the batches in flight (the recorder keeps their counts for the next flush)
 * and is started again on the next batch.
 */
export class ThreadedUsageWriter implements Pick<UsageRepo, 'record'> {
  readonly #path: string;
  readonly #busyTimeoutMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | null = null;
  #nextId = 1;

  /** `onError`: the thread itself failed (not a batch: those reject their own promise). */
  constructor(options: { path: string; busyTimeoutMs: number; onError: (error: unknown) => void }) {
    this.#path = options.path;
    this.#busyTimeoutMs = options.busyTimeoutMs;
    this.#onError = options.onError;
  }

  record(batch: UsageBatch): Promise<void> {
    const id = this.#nextId++;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#thread().postMessage({ type: 'record', id, batch } satisfies WriterRequest);
    });
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

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./usage-writer-thread.ts', import.meta.url), { workerData: { path: this.#path, busyTimeoutMs: this.#busyTimeoutMs } });
    worker.on('message', (reply: WriterReply) => this.#settle(reply));
    worker.on('error', (error) => {
      this.#onError(error);
      this.#failAll(worker, error);
    });
    worker.on('exit', (code) => this.#failAll(worker, new Error(`the usage writer thread exited (code ${code})`)));
    this.#worker = worker;
    return worker;
  }

  #settle(reply: WriterReply): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (reply.ok) pending.resolve();
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
