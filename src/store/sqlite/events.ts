import type { SQLInputValue } from 'node:sqlite';
import type { EventInput, EventType, OutboxEvent } from '../../domain/events.ts';
import { newId } from '../../domain/ids.ts';
import type { EventOutboxRepo } from '../port.ts';
import type { SqliteDb } from './db.ts';

/**
 * Writes events to the outbox; callers are inside a transaction (a change's, or `append`'s own).
 * An event whose dedupe key is already there is skipped (INSERT OR IGNORE on the unique key).
 */
export function recordEvents(db: SqliteDb, events: readonly EventInput[], at = db.clock()): OutboxEvent[] {
  const recorded: OutboxEvent[] = [];
  for (const event of events) {
    const id = newId('event', at);
    const row = db
      .sql('INSERT OR IGNORE INTO event_outbox (id, at, type, data, dedupe_key) VALUES (?,?,?,?,?) RETURNING seq')
      .get(id, at, event.type, JSON.stringify(event.data), event.dedupeKey ?? null);
    if (row) recorded.push({ id, seq: Number(row.seq), at, type: event.type, data: event.data });
  }
  return recorded;
}

export function eventOutboxRepo(db: SqliteDb): EventOutboxRepo {
  return {
    async append(events) {
      return db.transaction(() => recordEvents(db, events));
    },
    async after(afterSeq, limit) {
      return db.sql('SELECT * FROM event_outbox WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit).map(eventFromRow);
    },
    async get(id) {
      const row = db.sql('SELECT * FROM event_outbox WHERE id = ?').get(id);
      return row ? eventFromRow(row) : null;
    },
    async deleteBefore(at, limit) {
      const result = db.transaction(() =>
        db.sql('DELETE FROM event_outbox WHERE seq IN (SELECT seq FROM event_outbox WHERE at < ? ORDER BY seq LIMIT ?)').run(at, limit),
      );
      return Number(result.changes);
    },
  };
}

function eventFromRow(row: Record<string, SQLInputValue>): OutboxEvent {
  return {
    id: String(row.id),
    seq: Number(row.seq),
    at: Number(row.at),
    type: String(row.type) as EventType,
    data: JSON.parse(String(row.data)) as Record<string, unknown>,
  };
}
