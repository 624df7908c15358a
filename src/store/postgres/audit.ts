import type { AuditEntry, AuditInput } from '../../domain/entities.ts';
import { newId } from '../../domain/ids.ts';
import type { AuditQuery, AuditRepo } from '../port.ts';
import { json, page, type PgDb, type Queryable, type Row } from './db.ts';
import { recordEvents, takeCommitTurn } from './events.ts';

/** Writes one audit entry and the webhook events it carries; every change calls it inside its own transaction. */
export async function appendAudit(tx: Queryable, audit: AuditInput, at: number): Promise<void> {
  await takeCommitTurn(tx);
  await tx.query(
    'INSERT INTO audit (id, at, actor, action, target_type, target_id, before, after, request_id, actor_name) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)',
    [
      newId('audit', at),
      at,
      audit.actor,
      audit.action,
      audit.targetType,
      audit.targetId,
      json(audit.before),
      json(audit.after),
      audit.requestId,
      audit.actorName ?? null,
    ],
  );
  if (audit.events?.length) await recordEvents(tx, audit.events, at);
}

export function auditRepo(db: PgDb): AuditRepo {
  return {
    async append(entry) {
      await db.transaction((tx) => appendAudit(tx, entry, db.clock()));
    },
    async list(query: AuditQuery) {
      const where = ["($1 = '' OR id < $1)"];
      const args: unknown[] = [query.cursor ?? ''];
      if (query.targetId) (args.push(query.targetId), where.push(`target_id = $${args.length}`));
      if (query.action) (args.push(query.action), where.push(`action = $${args.length}`));
      args.push(query.limit + 1);
      const { rows } = await db.query(`SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${args.length}`, args);
      return page(rows, query, auditFromRow);
    },
    async after(afterSeq, limit) {
      const { rows } = await db.query('SELECT seq, at, action, target_type, target_id FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit]);
      return rows.map((row) => ({
        seq: Number(row.seq),
        at: Number(row.at),
        action: String(row.action),
        targetType: row.target_type as AuditEntry['targetType'],
        targetId: String(row.target_id),
      }));
    },
    async lastSeq() {
      return Number((await db.query('SELECT COALESCE(MAX(seq), 0) AS seq FROM audit')).rows[0]!.seq);
    },
  };
}

function auditFromRow(row: Row): AuditEntry {
  return {
    id: String(row.id),
    at: Number(row.at),
    actor: String(row.actor),
    ...(row.actor_name === null || row.actor_name === undefined ? {} : { actorName: String(row.actor_name) }),
    action: String(row.action),
    targetType: row.target_type as AuditEntry['targetType'],
    targetId: String(row.target_id),
    before: row.before ?? null,
    after: row.after ?? null,
    requestId: row.request_id === null ? null : String(row.request_id),
  };
}
