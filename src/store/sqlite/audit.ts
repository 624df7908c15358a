import type { SQLInputValue } from 'node:sqlite';
import type { AuditEntry, AuditInput } from '../../domain/entities.ts';
import { newId } from '../../domain/ids.ts';
import type { AuditQuery, AuditRepo } from '../port.ts';
import { json, page, type SqliteDb } from './db.ts';
import { recordEvents } from './events.ts';

/** Writes one audit entry and the webhook events it carries; every change calls it inside the change's own transaction. */
export function appendAudit(db: SqliteDb, audit: AuditInput, at = db.clock()): void {
  db.sql('INSERT INTO audit (id, at, actor, action, target_type, target_id, before, after, request_id, actor_name) VALUES (?,?,?,?,?,?,?,?,?,?)').run(
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
  );
  if (audit.events?.length) recordEvents(db, audit.events, at);
}

export function auditRepo(db: SqliteDb): AuditRepo {
  return {
    async append(entry) {
      db.transaction(() => appendAudit(db, entry));
    },
    async list(query: AuditQuery) {
      const where = ["(? = '' OR id < ?)"];
      const args: SQLInputValue[] = [query.cursor ?? '', query.cursor ?? ''];
      if (query.targetId) (where.push('target_id = ?'), args.push(query.targetId));
      if (query.action) (where.push('action = ?'), args.push(query.action));
      const rows = db.sql(`SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...args, query.limit + 1);
      return page(rows, query, auditFromRow);
    },
    // One writer at a time: rowid order (each insert takes the largest + 1; audit rows are never deleted) is commit order.
    async after(afterSeq, limit) {
      return db
        .sql('SELECT rowid AS seq, at, action, target_type, target_id FROM audit WHERE rowid > ? ORDER BY rowid LIMIT ?')
        .all(afterSeq, limit)
        .map((row) => ({
          seq: Number(row.seq),
          at: Number(row.at),
          action: String(row.action),
          targetType: String(row.target_type) as AuditEntry['targetType'],
          targetId: String(row.target_id),
        }));
    },
    async lastSeq() {
      return Number(db.sql('SELECT COALESCE(MAX(rowid), 0) AS seq FROM audit').get()!.seq);
    },
  };
}

function auditFromRow(row: Record<string, SQLInputValue>): AuditEntry {
  return {
    id: String(row.id),
    at: Number(row.at),
    actor: String(row.actor),
    ...(row.actor_name === null || row.actor_name === undefined ? {} : { actorName: String(row.actor_name) }),
    action: String(row.action),
    targetType: String(row.target_type) as AuditEntry['targetType'],
    targetId: String(row.target_id),
    before: row.before === null ? null : JSON.parse(String(row.before)),
    after: row.after === null ? null : JSON.parse(String(row.after)),
    requestId: row.request_id === null ? null : String(row.request_id),
  };
}
