import type { EventInput, EventType, OutboxEvent } from '../../domain/events.ts';
import { newId } from '../../domain/ids.ts';
import type { EventOutboxRepo } from '../port.ts';
import type { PgDb, Queryable, Row } from './db.ts';

/** The advisory lock of transactions whose rows are read in `seq` order (any constant; this one spells "outbox"). */
const COMMIT_ORDER_LOCK = 0x6f7574626f78;

/**
 * Identity values are handed out at insert but become visible at commit, so two transactions could
 * commit out of `seq` order, and a reader resuming after the higher seq would skip the lower for
 * good. Transactions that write audit entries or outbox events (both read in seq order) take this
 * lock, held until they commit: they take turns, and seq order is commit order. They are admin
 * changes, sign-ins and periodic scans, not traffic, so the turns cost nothing that matters.
 */
export async function takeCommitTurn(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [COMMIT_ORDER_LOCK]);
}

/** Writes events to the outbox inside the caller's transaction, in its commit turn. */
export async function recordEvents(tx: Queryable, events: readonly EventInput[], at: number): Promise<OutboxEvent[]> {
  await takeCommitTurn(tx);
  const recorded: OutboxEvent[] = [];
  for (const event of events) {
    const id = newId('event', at);
    const { rows } = await tx.query(
      'INSERT INTO event_outbox (id, at, type, data, dedupe_key) VALUES ($1,$2,$3,$4,$5) ON CONFLICT (dedupe_key) DO NOTHING RETURNING seq',
      [id, at, event.type, JSON.stringify(event.data), event.dedupeKey ?? null],
    );
    if (rows[0]) recorded.push({ id, seq: Number(rows[0].seq), at, type: event.type, data: event.data });
  }
  return recorded;
}

export function eventOutboxRepo(db: PgDb): EventOutboxRepo {
  return {
    async append(events) {
      return db.transaction((tx) => recordEvents(tx, events, db.clock()));
    },
    async after(afterSeq, limit) {
      return (await db.query('SELECT * FROM event_outbox WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit])).rows.map(eventFromRow);
    },
    async get(id) {
      const { rows } = await db.query('SELECT * FROM event_outbox WHERE id = $1', [id]);
      return rows[0] ? eventFromRow(rows[0]) : null;
    },
    async deleteBefore(at, limit) {
      const { rowCount } = await db.query('DELETE FROM event_outbox WHERE seq IN (SELECT seq FROM event_outbox WHERE at < $1 ORDER BY seq LIMIT $2)', [
        at,
        limit,
      ]);
      return rowCount;
    },
  };
}

function eventFromRow(row: Row): OutboxEvent {
  return { id: String(row.id), seq: Number(row.seq), at: Number(row.at), type: row.type as EventType, data: row.data as Record<string, unknown> };
}
