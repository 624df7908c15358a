import { deleteAuditOf, type NamedEntityRepo, type NamedPageQuery } from '../port.ts';
import { appendAudit } from './audit.ts';
import { page, type PgDb, type Queryable } from './db.ts';

type Entity = { id: string; createdAt: number; updatedAt: number };

/**
 * Inserts or replaces one entity row: its query columns, the whole entity as JSON, its times. An
 * update may carry a guard (SQL on the stored row, given the number of its first parameter, and its
 * arguments): the row is written only while it holds.
 */
export async function writeRow<T extends Entity>(
  tx: Queryable,
  table: string,
  columns: Record<string, unknown>,
  entity: T,
  insert: boolean,
  guard?: { sql: (first: number) => string; args: unknown[] },
): Promise<number> {
  const values = { ...columns, data: JSON.stringify(entity), created_at: entity.createdAt, updated_at: entity.updatedAt };
  const names = Object.keys(values);
  const text = insert
    ? `INSERT INTO ${table} (id, ${names.join(', ')}) VALUES ($1, ${names.map((_, i) => `$${i + 2}`).join(', ')})`
    : `UPDATE ${table} SET ${names.map((n, i) => `${n} = $${i + 1}`).join(', ')} WHERE id = $${names.length + 1}${guard ? ` AND (${guard.sql(names.length + 2)})` : ''}`;
  const args = insert ? [entity.id, ...Object.values(values)] : [...Object.values(values), entity.id, ...(guard?.args ?? [])];
  return (await tx.query(text, args)).rowCount;
}

/**
 * The repository of a table that keeps each entity whole as JSON (`data`) beside the columns queries
 * and constraints need: create, get, list by id, update and delete, each change with its audit entry.
 */
export function entityTable<T extends Entity>(
  db: PgDb,
  table: string,
  columns: (entity: T) => Record<string, unknown>,
  /** The table has a `name` column lists may filter on (apis, apps, policies). */
  named = false,
): NamedEntityRepo<T> {
  return {
    async create(entity, audit) {
      await db.transaction(async (tx) => {
        await writeRow(tx, table, columns(entity), entity, true);
        await appendAudit(tx, audit, db.clock());
      });
    },
    async get(id) {
      const { rows } = await db.query(`SELECT data FROM ${table} WHERE id = $1`, [id]);
      return rows[0] ? (rows[0].data as T) : null;
    },
    async list(query: NamedPageQuery) {
      const byName = named && query.name !== undefined;
      const { rows } = byName
        ? await db.query(`SELECT id, data FROM ${table} WHERE name = $1 AND id > $2 ORDER BY id LIMIT $3`, [query.name, query.cursor ?? '', query.limit + 1])
        : await db.query(`SELECT id, data FROM ${table} WHERE id > $1 ORDER BY id LIMIT $2`, [query.cursor ?? '', query.limit + 1]);
      return page(rows, query, (r) => r.data as T);
    },
    async update(entity, audit) {
      return db.transaction(async (tx) => {
        if ((await writeRow(tx, table, columns(entity), entity, false)) === 0) return false;
        await appendAudit(tx, audit, db.clock());
        return true;
      });
    },
    async delete(id, audit) {
      return db.transaction(async (tx) => {
        const [row] = (await tx.query(`DELETE FROM ${table} WHERE id = $1 RETURNING data`, [id])).rows;
        if (!row) return false;
        await appendAudit(tx, deleteAuditOf(audit, row.data as T), db.clock());
        return true;
      });
    },
  };
}
