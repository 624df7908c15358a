import { deliveryFromRow, endpointData, endpointFromData, rowInScope } from '../rows.ts';
import type { SQLInputValue } from 'node:sqlite';
import type { EventType, OutboxEvent } from '../../domain/events.ts';
import { newId } from '../../domain/ids.ts';
import type { WebhookDelivery, WebhookEndpoint } from '../../domain/webhooks.ts';
import { deleteAuditOf, type WebhookRepo } from '../port.ts';
import { appendAudit } from './audit.ts';
import { page, type SqliteDb } from './db.ts';
import { writeRow } from './entity-table.ts';

/** Webhook endpoints, the delivery cursor, deliveries and their attempts (migration 11). */
export function webhookRepo(db: SqliteDb): WebhookRepo {
  const insert = (endpoint: WebhookEndpoint) =>
    writeRow(db, 'webhook_endpoints', { consecutive_failures: endpoint.consecutiveFailures, app_id: endpoint.appId ?? null }, endpointData(endpoint), true);
  const upsertDelivery = (d: WebhookDelivery, seq: number, restart: boolean): number =>
    Number(
      db
        .sql(
          `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_seq, event_type, event_at, status, attempts, next_attempt_at, last_attempt_at, created_at)
           VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (event_id, endpoint_id) DO ${
             restart ? "UPDATE SET status = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at" : 'NOTHING'
           }`,
        )
        .run(d.id, d.endpointId, d.eventId, seq, d.eventType, d.eventAt, d.status, d.attempts, d.nextAttemptAt, d.lastAttemptAt, d.createdAt).changes,
    );
  return {
    async create(endpoint, audit) {
      db.transaction(() => {
        insert(endpoint);
        appendAudit(db, audit);
      });
    },
    async createWithin(endpoint, audit, max) {
      // One write transaction (BEGIN IMMEDIATE): the count and the insert, with no other writer between them.
      return db.transaction(() => {
        if (Number(db.sql('SELECT COUNT(*) AS n FROM webhook_endpoints WHERE app_id = ?').get(endpoint.appId ?? null)!.n) >= max) return false;
        insert(endpoint);
        appendAudit(db, audit);
        return true;
      });
    },
    async get(id) {
      const row = db.sql('SELECT data, consecutive_failures FROM webhook_endpoints WHERE id = ?').get(id);
      return row ? endpointFromRow(row) : null;
    },
    async list(query) {
      const rows = db.sql('SELECT data, consecutive_failures FROM webhook_endpoints WHERE id > ? ORDER BY id LIMIT ?').all(query.cursor ?? '', query.limit + 1);
      return page(rows, query, endpointFromRow);
    },
    async all() {
      return db.sql('SELECT data, consecutive_failures FROM webhook_endpoints ORDER BY id').all().map(endpointFromRow);
    },
    async listByApp(appId, query) {
      const rows = db
        .sql('SELECT data, consecutive_failures FROM webhook_endpoints WHERE app_id = ? AND id > ? ORDER BY id LIMIT ?')
        .all(appId, query.cursor ?? '', query.limit + 1);
      return page(rows, query, endpointFromRow);
    },
    async update(endpoint, audit, options = {}) {
      // consecutive_failures is written only to reset it: recordAttempt counts it meanwhile.
      const columns = { app_id: endpoint.appId ?? null, ...(options.resetFailures ? { consecutive_failures: 0 } : {}) };
      const conditions: { sql: string; arg: number }[] = [
        ...(options.readAt === undefined ? [] : [{ sql: 'updated_at = ?', arg: options.readAt }]),
        ...(options.failuresAtLeast === undefined ? [] : [{ sql: 'consecutive_failures >= ?', arg: options.failuresAtLeast }]),
      ];
      const guard = conditions.length === 0 ? undefined : { sql: conditions.map((c) => c.sql).join(' AND '), args: conditions.map((c) => c.arg) };
      return db.transaction(() => {
        if (writeRow(db, 'webhook_endpoints', columns, endpointData(endpoint), false, guard) === 0) return false;
        appendAudit(db, audit);
        return true;
      });
    },
    async delete(id, audit) {
      return db.transaction(() => {
        const [row] = db.sql('DELETE FROM webhook_endpoints WHERE id = ? RETURNING data, consecutive_failures').all(id);
        if (!row) return false;
        appendAudit(db, deleteAuditOf(audit, endpointFromRow(row)));
        return true;
      });
    },
    async cursor() {
      const row = db.sql('SELECT seq FROM webhook_cursor WHERE id = 1').get();
      return row ? Number(row.seq) : 0;
    },
    async enqueue(deliveries, throughSeq) {
      return db.transaction(() => {
        let added = 0;
        for (const d of deliveries) {
          const event = db.sql('SELECT seq FROM event_outbox WHERE id = ?').get(d.eventId);
          if (event) added += upsertDelivery(d, Number(event.seq), false);
        }
        db.sql('INSERT INTO webhook_cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = max(seq, excluded.seq)').run(throughSeq);
        return added;
      });
    },
    async due(now, limit, leaseMs) {
      // Polled every round on the event loop: when nothing is due (nearly always), a read answers it
      // without the write lock, which the writer thread may hold for a whole usage flush (WAL readers
      // never wait; BEGIN IMMEDIATE would, synchronously, up to the busy timeout).
      const anyDue = db
        .sql(
          `SELECT 1 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
           WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND json_extract(e.data, '$.enabled') = 1 LIMIT 1`,
        )
        .get(now);
      if (!anyDue) return [];
      return db.transaction(() => {
        const rows = db
          .sql(
            `SELECT d.*, o.seq AS o_seq, o.at AS o_at, o.type AS o_type, o.data AS o_data FROM webhook_deliveries d
             JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN event_outbox o ON o.id = d.event_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND json_extract(e.data, '$.enabled') = 1
             ORDER BY d.next_attempt_at, d.id LIMIT ?`,
          )
          .all(now, limit);
        // Claimed: another sender (a second node on this store) skips them until the lease ends; a
        // sender that dies mid-attempt leaves them to be tried again then.
        for (const row of rows) db.sql('UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?').run(now + leaseMs, String(row.id));
        return rows.map((row) => ({
          delivery: deliveryFromRow(row),
          event: {
            id: String(row.event_id),
            seq: Number(row.o_seq),
            at: Number(row.o_at),
            type: String(row.o_type) as EventType,
            data: JSON.parse(String(row.o_data)) as Record<string, unknown>,
          } satisfies OutboxEvent,
        }));
      });
    },
    async recordAttempt(attempt, next) {
      return db.transaction(() => {
        db.sql('INSERT INTO webhook_attempts (delivery_id, at, status_code, error, duration_ms, response_excerpt) VALUES (?,?,?,?,?,?)').run(
          attempt.deliveryId,
          attempt.at,
          attempt.statusCode,
          attempt.error,
          attempt.durationMs,
          attempt.responseExcerpt,
        );
        const row = db
          .sql('UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_attempt_at = ? WHERE id = ? RETURNING endpoint_id')
          .get(next.status, next.nextAttemptAt, attempt.at, attempt.deliveryId);
        if (!row) return 0;
        const run = db
          .sql(
            `UPDATE webhook_endpoints SET consecutive_failures = CASE WHEN ? THEN 0 ELSE consecutive_failures + 1 END WHERE id = ? RETURNING consecutive_failures`,
          )
          .get(next.status === 'delivered' ? 1 : 0, String(row.endpoint_id));
        return run ? Number(run.consecutive_failures) : 0;
      });
    },
    async getDelivery(id) {
      const row = db.sql('SELECT * FROM webhook_deliveries WHERE id = ?').get(id);
      return row ? deliveryFromRow(row) : null;
    },
    async deliveries(query) {
      const where = ['endpoint_id = ?', "(? = '' OR id < ?)"];
      const args: SQLInputValue[] = [query.endpointId, query.cursor ?? '', query.cursor ?? ''];
      if (query.status) (where.push('status = ?'), args.push(query.status));
      if (query.eventId) (where.push('event_id = ?'), args.push(query.eventId));
      const rows = db.sql(`SELECT * FROM webhook_deliveries WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...args, query.limit + 1);
      return page(rows, query, deliveryFromRow);
    },
    async attempts(deliveryId) {
      return db
        .sql('SELECT * FROM webhook_attempts WHERE delivery_id = ? ORDER BY at, rowid')
        .all(deliveryId)
        .map((r) => ({
          deliveryId: String(r.delivery_id),
          at: Number(r.at),
          statusCode: r.status_code === null ? null : Number(r.status_code),
          error: r.error === null ? null : String(r.error),
          durationMs: Number(r.duration_ms),
          responseExcerpt: r.response_excerpt === null ? null : String(r.response_excerpt),
        }));
    },
    async replay(deliveryId, now, audit) {
      return db.transaction(() => {
        const changed = db.sql("UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE id = ?").run(now, deliveryId).changes;
        if (Number(changed) === 0) return false;
        appendAudit(db, audit);
        return true;
      });
    },
    async replayRange(endpoint, from, until, now, audit, limit) {
      return db.transaction(() => {
        const typed = db
          .sql('SELECT id, seq, at, type, data FROM event_outbox WHERE at >= ? AND at < ? AND type IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?')
          .all(from, until, JSON.stringify(endpoint.events), limit + 1);
        if (typed.length > limit) return typed.length;
        const events = typed.filter((e) => rowInScope(endpoint, e));
        for (const e of events) {
          const delivery: WebhookDelivery = {
            id: newId('delivery', now),
            endpointId: endpoint.id,
            eventId: String(e.id),
            eventType: String(e.type) as EventType,
            eventAt: Number(e.at),
            status: 'pending',
            attempts: 0,
            nextAttemptAt: now,
            lastAttemptAt: null,
            createdAt: now,
          };
          upsertDelivery(delivery, Number(e.seq), true);
        }
        appendAudit(db, audit);
        return events.length;
      });
    },
    async deleteFinishedBefore(at, limit) {
      return db.transaction(() =>
        Number(
          db
            .sql(
              "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE created_at < ? AND status != 'pending' ORDER BY created_at LIMIT ?)",
            )
            .run(at, limit).changes,
        ),
      );
    },
  };
}

function endpointFromRow(row: Record<string, SQLInputValue>): WebhookEndpoint {
  return endpointFromData(JSON.parse(String(row.data)) as WebhookEndpoint, row.consecutive_failures);
}
