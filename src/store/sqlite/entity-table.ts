import type { SQLInputValue } from 'node:sqlite';
import { deleteAuditOf, type NamedEntityRepo, type NamedPageQuery } from '../port.ts';
import { appendAudit } from './audit.ts';
import { page, type SqliteDb } from './db.ts';

type Entity = { id: string; createdAt: number; updatedAt: number };

/**
 * Inserts or replaces one entity row: its query columns, the whole entity as JSON, its times. An
 * update may carry a guard (SQL on the stored row, and its arguments): the row is written only while it holds.
 */
export function writeRow<T extends Entity>(
  db: SqliteDb,
  table: string,
  columns: Record<string, SQLInputValue>,
  entity: T,
  insert: boolean,
  guard?: { sql: string; args: SQLInputValue[] },
): number {
  const values = { ...columns, data: JSON.stringify(entity), created_at: entity.createdAt, updated_at: entity.updatedAt };
  const names = Object.keys(values);
  const text = insert
    ? `INSERT INTO ${table} (id, ${names.join(', ')}) VALUES (?, ${names.map(() => '?').join(', ')})`
    : `UPDATE ${table} SET ${names.map((n) => `${n} = ?`).join(', ')} WHERE id = ?${guard ? ` AND (${guard.sql})` : ''}`;
  const args = insert ? [entity.id, ...Object.values(values)] : [...Object.values(values), entity.id, ...(guard?.args ?? [])];
  return Number(db.sql(text).run(...args).changes);
}

/**
 * The repository of a table that keeps each entity whole as JSON (`data`) beside the columns queries
 * and constraints need: create, get, list by id, update and delete, each change with its audit entry.
 */
export function entityTable<T extends Entity>(
  db: SqliteDb,
  table: string,
  columns: (entity: T) => Record<string, SQLInputValue>,
  /** The table has a `name` column lists may filter on (apis, apps, policies). */
  named = false,
): NamedEntityRepo<T> {
  const write = (entity: T, insert: boolean): number => writeRow(db, table, columns(entity), entity, insert);
  return {
    async create(entity, audit) {
      db.transaction(() => {
        write(entity, true);
        appendAudit(db, audit);
      });
    },
    async get(id) {
      const row = db.sql(`SELECT data FROM ${table} WHERE id = ?`).get(id);
      return row ? (JSON.parse(String(row.data)) as T) : null;
    },
    async list(query: NamedPageQuery) {
      const byName = named && query.name !== undefined;
      const rows = byName
        ? db.sql(`SELECT data FROM ${table} WHERE name = ? AND id > ? ORDER BY id LIMIT ?`).all(query.name!, query.cursor ?? '', query.limit + 1)
        : db.sql(`SELECT data FROM ${table} WHERE id > ? ORDER BY id LIMIT ?`).all(query.cursor ?? '', query.limit + 1);
      return page(rows, query, (r) => JSON.parse(String(r.data)) as T);
    },
    async update(entity, audit) {
      return db.transaction(() => {
        if (write(entity, false) === 0) return false;
        appendAudit(db, audit);
        return true;
      });
    },
    async delete(id, audit) {
      return db.transaction(() => {
        const [row] = db.sql(`DELETE FROM ${table} WHERE id = ? RETURNING data`).all(id);
        if (!row) return false;
        appendAudit(db, deleteAuditOf(audit, JSON.parse(String(row.data)) as T));
        return true;
      });
    },
  };
}
