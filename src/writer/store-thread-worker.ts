import { parentPort, workerData } from 'node:worker_threads';
import { StorageUnavailableError } from '../store/port.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { lowerThisThreadPriority } from '../runtime/thread-priority.ts';
import { BACKGROUND_NICE, type StoreThreadReply, type StoreThreadRequest } from './store-thread.ts';
import { fromBatchColumns } from '../store/usage-batch-columns.ts';
import { fromCellColumns } from '../store/usage-cell-columns.ts';

/**
 * A store thread (store-thread.ts): its own node:sqlite connection, so a synchronous transaction or
 * scan (tens of milliseconds with thousands of keys or records) blocks this thread, never the event
 * loop that serves requests. The main thread migrated the store before starting it.
 */
const { path, busyTimeoutMs } = workerData as { path: string; busyTimeoutMs: number };
const store = openSqliteStore(path, { busyTimeoutMs });
const port = parentPort!;

// Writes and scans here can wait for the request path: on a CPU shared with the gateway's thread (one
// core, or every core busy) that thread is scheduled first (docs/architecture.md, "Background threads").
const priority = lowerThisThreadPriority(BACKGROUND_NICE);
if (!priority.changed) port.postMessage({ warning: `store thread at normal priority: ${priority.reason}` } satisfies StoreThreadReply);

port.on('message', (message: StoreThreadRequest) => {
  // Closing the connection cannot fail in a way worth reporting after the last batch; an error
  // here would reach the main thread as the worker's 'error' event, which is logged.
  if (message.type === 'close') return void store.close().finally(() => port.close());
  perform(message).then(
    (value) => port.postMessage({ id: message.id, ok: true, value } satisfies StoreThreadReply),
    (error: unknown) => port.postMessage(failure(message.id, error)),
  );
});

function perform(message: Exclude<StoreThreadRequest, { type: 'close' }>): Promise<unknown> {
  switch (message.type) {
    case 'record':
      return store.usage.record(fromBatchColumns(message.batch));
    case 'requests':
      return store.requestLog.append(message.batch);
    case 'prune-requests':
      return store.requestLog.deleteBefore(message.day, message.limit);
    case 'prune-addresses':
      return store.keyAddresses.deleteSeenBefore(message.before, message.limit);
    case 'query-requests':
      return store.requestLog.query(message.filters, message.page);
    case 'usage-cells':
      return store.usageAnalytics.add(fromCellColumns(message.cells));
    case 'prune-usage':
      return store.usageAnalytics.deleteBefore(message.granularity, message.before, message.limit);
    case 'query-usage':
      return store.usageAnalytics.query(message.query);
  }
}

/** Errors cross the thread as data: the kind decides which error the main thread rebuilds. */
function failure(id: number, error: unknown): StoreThreadReply {
  const message = error instanceof Error ? error.message : String(error);
  return { id, ok: false, unavailable: error instanceof StorageUnavailableError, message };
}
