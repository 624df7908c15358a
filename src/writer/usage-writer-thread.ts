import { parentPort, workerData } from 'node:worker_threads';
import { StorageUnavailableError, type UsageBatch } from '../store/port.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { WriterReply, WriterRequest } from './usage-writer.ts';

/**
 * The writer thread: its own node:sqlite connection, so a batch's synchronous transaction (tens of
 * milliseconds with thousands of keys) blocks this thread, never the event loop that serves requests.
 * The main thread migrated the store before starting it.
 */
const { path, busyTimeoutMs } = workerData as { path: string; busyTimeoutMs: number };
const store = openSqliteStore(path, { busyTimeoutMs });
const port = parentPort!;

port.on('message', (message: WriterRequest) => {
  // Closing the connection cannot fail in a way worth reporting after the last batch; an error
  // here would reach the main thread as the worker's 'error' event, which is logged.
  if (message.type === 'close') return void store.close().finally(() => port.close());
  record(message.id, message.batch).then(
    (reply) => port.postMessage(reply),
    (error: unknown) => port.postMessage(failure(message.id, error)),
  );
});

async function record(id: number, batch: UsageBatch): Promise<WriterReply> {
  await store.usage.record(batch);
  return { id, ok: true };
}

/** Errors cross the thread as data: the kind decides which error the main thread rebuilds. */
function failure(id: number, error: unknown): WriterReply {
  const message = error instanceof Error ? error.message : String(error);
  return { id, ok: false, unavailable: error instanceof StorageUnavailableError, message };
}
