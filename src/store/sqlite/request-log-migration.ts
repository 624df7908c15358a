import type { DatabaseSync } from 'node:sqlite';
import { requestLogEntryFromRow } from '../rows.ts';
import { batchTimeRange, encodeBatch, pack } from '../entry-batch.ts';

/** Old rows per batch made of them: the size the request log writes. */
const ROWS_PER_BATCH = 500;

/**
 * Migration 18: the request log's rows (one per request, table `request_log`) into batches
 * (`request_log_batches`), in their order of arrival, so reads give the same entries in the same order.
 */
export function moveRequestLogRowsToBatches(connection: DatabaseSync): void {
  const read = connection.prepare('SELECT * FROM request_log WHERE id > ? ORDER BY id LIMIT ?');
  const insert = connection.prepare('INSERT INTO request_log_batches (first_at, last_at, entries, bytes) VALUES (?, ?, ?, ?)');
  let after = 0;
  for (;;) {
    const rows = read.all(after, ROWS_PER_BATCH);
    if (rows.length === 0) return;
    const batch = encodeBatch(rows.map((row) => pack(requestLogEntryFromRow(row))))!;
    const { first, last } = batchTimeRange(batch);
    insert.run(first, last, batch.entries, batch.bytes);
    after = Number(rows.at(-1)!.id);
  }
}
