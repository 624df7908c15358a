import { parentPort, workerData } from 'node:worker_threads';
import { StorageUnavailableError } from '../store/port.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { WriterReply, WriterRequest } from './usage-writer.ts';

/**
 * The writer thread: its own node:sqlite connection, so a batch's synchronous transaction (tens of
 * milliseconds with thousands of keys or records) blocks this thread, never the event loop that
 * serves requests. The main thread migrated the store before starting it.
 */
const { path, busyTimeoutMs } = workerData as { path: string; busyTimeoutMs: number };
const store = openSqliteStore(path, { busyTimeoutMs });
const port = parentPort!;

port.on('message', (message: WriterRequest) => {
  // Closing the connection cannot fail in a way worth reporting after the last batch; an error
  // here would reach the main thread as the worker's 'error' event, which is logged.
  if (message.type === 'close') return void store.close().finally(() => port.close());
  perform(message).then(
    (value) => port.postMessage({ id: message.id, ok: true, value } satisfies WriterReply),
    (error: unknown) => port.postMessage(failure(message.id, error)),
  );
});

async function perform(message: Exclude<WriterRequest, { type: 'close' }>): Promise<number | undefined> {
  switch (message.type) {
    case 'record':
      return void (await store.usage.record(message.batch));
    case 'requests':
      return void (await store.requestLog.append(message.entries));
    case 'prune-requests':
      return store.requestLog.deleteBefore(message.day, message.limit);
  }
}

/** Errors cross the thread as data: the kind decides which error the main thread rebuilds. */
function failure(id: number, error: unknown): WriterReply {
  const message = error instanceof Error ? error.message : String(error);
  return { id, ok: false, unavailable: error instanceof StorageUnavailableError, message };
}
