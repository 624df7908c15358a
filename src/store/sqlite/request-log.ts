import type { RequestLogEntry, RequestLogRepo } from '../port.ts';
import type { SqliteDb } from './db.ts';
import { parseRequestCursor, requestCursor } from '../cursors.ts';
import { batchTimeRange, entrySelector, unpack, type PackedEntry } from '../entry-batch.ts';
import { requestLogConditions } from '../request-log-filters.ts';

/**
 * An entry's id is its batch's row id times this, plus its place in the batch: ids grow with arrival,
 * as the cursor's tie-break needs. 2^21 entries a batch leaves 2^32 batches below 2^53.
 */
const PER_BATCH = 2 ** 21;

/**
 * The request log on SQLite keeps each batch as the request log's buffer encoded it (entry-batch.ts),
 * one row per batch with the time range it covers: appending costs one insert per batch, not 21
 * values bound and an index entry per request (docs/architecture.md, "The request log on SQLite").
 * Reads take the batches of the chosen time range, newest first, and test their entries' bytes
 * against the filters, decoding only those that pass.
 */
export function requestLogRepo(db: SqliteDb): RequestLogRepo {
  return {
    async append(batch) {
      if (batch.entries === 0) return;
      if (batch.entries > PER_BATCH) throw new Error(`request-log batch of ${batch.entries} entries: at most ${PER_BATCH} are kept together`);
      const { first, last } = batchTimeRange(batch);
      // As every write, in a transaction: its commit tells readiness the store writes again.
      db.transaction(() =>
        db.sql('INSERT INTO request_log_batches (first_at, last_at, entries, bytes) VALUES (?, ?, ?, ?)').run(first, last, batch.entries, batch.bytes),
      );
    },
    async query(filters, page) {
      const select = entrySelector(requestLogConditions(filters));
      const cursor = page.cursor === undefined ? null : parseRequestCursor(page.cursor);
      // A batch can hold a wanted entry only when its time range meets the filter's and the cursor's.
      const batches = db
        .sql('SELECT id, last_at, entries, bytes FROM request_log_batches WHERE last_at >= ? AND first_at < ? AND first_at <= ? ORDER BY last_at DESC, id DESC')
        .iterate(filters.since ?? -Number.MAX_VALUE, filters.until ?? Number.MAX_VALUE, cursor ? cursor.at : Number.MAX_VALUE);
      const found: { at: number; id: number; row: PackedEntry }[] = [];
      const wanted = page.limit + 1;
      for (const b of batches) {
        // Batches come by their newest entry, newest first: once `wanted` entries are newer than this
        // batch's newest, neither it nor any after it can hold one that places.
        if (found.length >= wanted && found[wanted - 1]!.at > Number(b.last_at)) break;
        const first = Number(b.id) * PER_BATCH;
        for (const { index, row } of select({ bytes: b.bytes as Uint8Array, entries: Number(b.entries) })) {
          const at = row[0] as number;
          const id = first + index;
          if (!cursor || at < cursor.at || (at === cursor.at && id < cursor.id)) found.push({ at, id, row });
        }
        found.sort((a, b) => b.at - a.at || b.id - a.id);
        found.length = Math.min(found.length, wanted);
      }
      const items = found.slice(0, page.limit);
      const last = items.at(-1);
      return {
        items: items.map((f): RequestLogEntry => unpack(f.row)),
        nextCursor: found.length > page.limit && last ? requestCursor(last.at, last.id) : null,
      };
    },
    async deleteBefore(day, limit) {
      const before = Date.parse(`${day}T00:00:00Z`);
      if (!Number.isFinite(before)) throw new Error(`not a day: ${day}`);
      // Whole batches, once all of a batch is older: up to `limit` entries, or the oldest batch when it alone holds more.
      return db.transaction(() => {
        const old = db.sql('SELECT id, entries FROM request_log_batches WHERE last_at < ? ORDER BY last_at, id LIMIT ?').all(before, limit);
        const remove = db.sql('DELETE FROM request_log_batches WHERE id = ?');
        let deleted = 0;
        for (const row of old) {
          const entries = Number(row.entries);
          if (deleted > 0 && deleted + entries > limit) break;
          remove.run(Number(row.id));
          deleted += entries;
        }
        return deleted;
      });
    },
  };
}
