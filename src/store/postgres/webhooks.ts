import { deliveryFromRow, endpointData, endpointFromData, rowInScope } from '../rows.ts';
import type { EventType, OutboxEvent } from '../../domain/events.ts';
import { newId } from '../../domain/ids.ts';
import type { WebhookDelivery, WebhookEndpoint } from '../../domain/webhooks.ts';
import { deleteAuditOf, type WebhookRepo } from '../port.ts';
import { appendAudit } from './audit.ts';
import { page, type PgDb, type Queryable, type Row } from './db.ts';
import { writeRow } from './entity-table.ts';

/** Webhook endpoints, the delivery cursor, deliveries and their attempts, with the SQLite adapter's rules. */
export function webhookRepo(db: PgDb): WebhookRepo {
  const insert = (tx: Queryable, endpoint: WebhookEndpoint) =>
    writeRow(tx, 'webhook_endpoints', { consecutive_failures: endpoint.consecutiveFailures, app_id: endpoint.appId ?? null }, endpointData(endpoint), true);
  const upsertDelivery = async (tx: Queryable, d: WebhookDelivery, seq: number, restart: boolean): Promise<number> =>
    (
      await tx.query(
        `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_seq, event_type, event_at, status, attempts, next_attempt_at, last_attempt_at, created_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (event_id, endpoint_id) DO ${
           restart ? "UPDATE SET status = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at" : 'NOTHING'
         }`,
        [d.id, d.endpointId, d.eventId, seq, d.eventType, d.eventAt, d.status, d.attempts, d.nextAttemptAt, d.lastAttemptAt, d.createdAt],
      )
    ).rowCount;
  return {
    async create(endpoint, audit) {
      await db.transaction(async (tx) => {
        await insert(tx, endpoint);
        await appendAudit(tx, audit, db.clock());
      });
    },
    async createWithin(endpoint, audit, max) {
      return db.transaction(async (tx) => {
        // Creates for one app take turns on a lock of their own (the app's row need not exist);
        // READ COMMITTED, so the count sees the endpoint of the one before.
        await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`webhooks of ${endpoint.appId ?? ''}`]);
        const { rows } = await tx.query('SELECT COUNT(*) AS n FROM webhook_endpoints WHERE app_id = $1', [endpoint.appId ?? null]);
        if (Number(rows[0]!.n) >= max) return false;
        await insert(tx, endpoint);
        await appendAudit(tx, audit, db.clock());
        return true;
      });
    },
    async get(id) {
      const { rows } = await db.query('SELECT data, consecutive_failures FROM webhook_endpoints WHERE id = $1', [id]);
      return rows[0] ? endpointFromRow(rows[0]) : null;
    },
    async list(query) {
      const { rows } = await db.query('SELECT id, data, consecutive_failures FROM webhook_endpoints WHERE id > $1 ORDER BY id LIMIT $2', [
        query.cursor ?? '',
        query.limit + 1,
      ]);
      return page(rows, query, endpointFromRow);
    },
    async all() {
      return (await db.query('SELECT data, consecutive_failures FROM webhook_endpoints ORDER BY id')).rows.map(endpointFromRow);
    },
    async listByApp(appId, query) {
      const { rows } = await db.query('SELECT id, data, consecutive_failures FROM webhook_endpoints WHERE app_id = $1 AND id > $2 ORDER BY id LIMIT $3', [
        appId,
        query.cursor ?? '',
        query.limit + 1,
      ]);
      return page(rows, query, endpointFromRow);
    },
    async update(endpoint, audit, options = {}) {
      // consecutive_failures is written only to reset it: recordAttempt counts it meanwhile.
      const columns = { app_id: endpoint.appId ?? null, ...(options.resetFailures ? { consecutive_failures: 0 } : {}) };
      const conditions: { sql: string; arg: number }[] = [
        ...(options.readAt === undefined ? [] : [{ sql: 'updated_at =', arg: options.readAt }]),
        // Checked on the row as it is when written (READ COMMITTED re-reads a row changed meanwhile).
        ...(options.failuresAtLeast === undefined ? [] : [{ sql: 'consecutive_failures >=', arg: options.failuresAtLeast }]),
      ];
      const guard =
        conditions.length === 0
          ? undefined
          : { sql: (first: number) => conditions.map((c, i) => `${c.sql} $${first + i}`).join(' AND '), args: conditions.map((c) => c.arg) };
      return db.transaction(async (tx) => {
        if ((await writeRow(tx, 'webhook_endpoints', columns, endpointData(endpoint), false, guard)) === 0) return false;
        await appendAudit(tx, audit, db.clock());
        return true;
      });
    },
    async delete(id, audit) {
      return db.transaction(async (tx) => {
        const [row] = (await tx.query('DELETE FROM webhook_endpoints WHERE id = $1 RETURNING data, consecutive_failures', [id])).rows;
        if (!row) return false;
        await appendAudit(tx, deleteAuditOf(audit, endpointFromRow(row)), db.clock());
        return true;
      });
    },
    async cursor() {
      const { rows } = await db.query('SELECT seq FROM webhook_cursor WHERE id = 1');
      return rows[0] ? Number(rows[0].seq) : 0;
    },
    async enqueue(deliveries, throughSeq) {
      return db.transaction(async (tx) => {
        let added = 0;
        for (const d of deliveries) {
          const event = (await tx.query('SELECT seq FROM event_outbox WHERE id = $1', [d.eventId])).rows[0];
          if (event) added += await upsertDelivery(tx, d, Number(event.seq), false);
        }
        await tx.query('INSERT INTO webhook_cursor (id, seq) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET seq = GREATEST(webhook_cursor.seq, excluded.seq)', [
          throughSeq,
        ]);
        return added;
      });
    },
    async due(now, limit, leaseMs) {
      return db.transaction(async (tx) => {
        // FOR UPDATE SKIP LOCKED: two nodes claiming at once take different deliveries.
        const { rows } = await tx.query(
          `SELECT d.*, o.seq AS o_seq, o.at AS o_at, o.type AS o_type, o.data AS o_data FROM webhook_deliveries d
           JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN event_outbox o ON o.id = d.event_id
           WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (e.data->>'enabled')::boolean
           ORDER BY d.next_attempt_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED`,
          [now, limit],
        );
        // Claimed: another sender skips them until the lease ends; one that dies mid-attempt leaves them to be tried again then.
        if (rows.length)
          await tx.query('UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id = ANY($2::text[])', [now + leaseMs, rows.map((r) => String(r.id))]);
        return rows.map((row) => ({
          delivery: deliveryFromRow(row),
          event: {
            id: String(row.event_id),
            seq: Number(row.o_seq),
            at: Number(row.o_at),
            type: row.o_type as EventType,
            data: row.o_data as Record<string, unknown>,
          } satisfies OutboxEvent,
        }));
      });
    },
    async recordAttempt(attempt, next) {
      return db.transaction(async (tx) => {
        await tx.query('INSERT INTO webhook_attempts (delivery_id, at, status_code, error, duration_ms, response_excerpt) VALUES ($1,$2,$3,$4,$5,$6)', [
          attempt.deliveryId,
          attempt.at,
          attempt.statusCode,
          attempt.error,
          attempt.durationMs,
          attempt.responseExcerpt,
        ]);
        const row = (
          await tx.query(
            'UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2, last_attempt_at = $3 WHERE id = $4 RETURNING endpoint_id',
            [next.status, next.nextAttemptAt, attempt.at, attempt.deliveryId],
          )
        ).rows[0];
        if (!row) return 0;
        const run = (
          await tx.query(
            'UPDATE webhook_endpoints SET consecutive_failures = CASE WHEN $1 THEN 0 ELSE consecutive_failures + 1 END WHERE id = $2 RETURNING consecutive_failures',
            [next.status === 'delivered', String(row.endpoint_id)],
          )
        ).rows[0];
        return run ? Number(run.consecutive_failures) : 0;
      });
    },
    async getDelivery(id) {
      const { rows } = await db.query('SELECT * FROM webhook_deliveries WHERE id = $1', [id]);
      return rows[0] ? deliveryFromRow(rows[0]) : null;
    },
    async deliveries(query) {
      const args: unknown[] = [query.endpointId, query.cursor ?? ''];
      const where = ['endpoint_id = $1', "($2 = '' OR id < $2)"];
      if (query.status) (args.push(query.status), where.push(`status = $${args.length}`));
      if (query.eventId) (args.push(query.eventId), where.push(`event_id = $${args.length}`));
      args.push(query.limit + 1);
      const { rows } = await db.query(`SELECT * FROM webhook_deliveries WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${args.length}`, args);
      return page(rows, query, deliveryFromRow);
    },
    async attempts(deliveryId) {
      const { rows } = await db.query('SELECT * FROM webhook_attempts WHERE delivery_id = $1 ORDER BY at, seq', [deliveryId]);
      return rows.map((r) => ({
        deliveryId: String(r.delivery_id),
        at: Number(r.at),
        statusCode: r.status_code === null ? null : Number(r.status_code),
        error: r.error === null ? null : String(r.error),
        durationMs: Number(r.duration_ms),
        responseExcerpt: r.response_excerpt === null ? null : String(r.response_excerpt),
      }));
    },
    async replay(deliveryId, now, audit) {
      return db.transaction(async (tx) => {
        const { rowCount } = await tx.query("UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1 WHERE id = $2", [
          now,
          deliveryId,
        ]);
        if (rowCount === 0) return false;
        await appendAudit(tx, audit, db.clock());
        return true;
      });
    },
    async replayRange(endpoint, from, until, now, audit, limit) {
      return db.transaction(async (tx) => {
        const { rows: typed } = await tx.query(
          'SELECT id, seq, at, type, data FROM event_outbox WHERE at >= $1 AND at < $2 AND type = ANY($3::text[]) ORDER BY seq LIMIT $4',
          [from, until, [...endpoint.events], limit + 1],
        );
        if (typed.length > limit) return typed.length;
        const events = typed.filter((e) => rowInScope(endpoint, e));
        for (const e of events) {
          const delivery: WebhookDelivery = {
            id: newId('delivery', now),
            endpointId: endpoint.id,
            eventId: String(e.id),
            eventType: e.type as EventType,
            eventAt: Number(e.at),
            status: 'pending',
            attempts: 0,
            nextAttemptAt: now,
            lastAttemptAt: null,
            createdAt: now,
          };
          await upsertDelivery(tx, delivery, Number(e.seq), true);
        }
        await appendAudit(tx, audit, db.clock());
        return events.length;
      });
    },
    async deleteFinishedBefore(at, limit) {
      // status again outside the subquery: a delivery replayed (pending again) while this waited for it
      // is re-checked as it is now (READ COMMITTED) and kept; the subquery's pick is not re-checked.
      const { rowCount } = await db.query(
        "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE created_at < $1 AND status != 'pending' ORDER BY created_at LIMIT $2) AND status != 'pending'",
        [at, limit],
      );
      return rowCount;
    },
  };
}

function endpointFromRow(row: Row): WebhookEndpoint {
  return endpointFromData(row.data as WebhookEndpoint, row.consecutive_failures);
}
