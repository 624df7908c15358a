import { requestLogEntryFromRow } from '../rows.ts';
import { REQUEST_LOG_FIELDS, type RequestLogFilters, type RequestLogRepo } from '../port.ts';
import { parseRequestCursor, requestCursor } from '../cursors.ts';
import type { PgDb } from './db.ts';
import { entriesOf } from '../entry-batch.ts';

/** The columns in REQUEST_LOG_FIELDS order, with the array type each is sent as. */
const COLUMNS: readonly [string, string][] = [
  ['at', 'bigint'],
  ['request_id', 'text'],
  ['trace_id', 'text'],
  ['api_id', 'text'],
  ['api', 'text'],
  ['route', 'text'],
  ['method', 'text'],
  ['path', 'text'],
  ['query', 'text'],
  ['status', 'integer'],
  ['denial_code', 'text'],
  ['duration_ms', 'double precision'],
  ['upstream_ms', 'double precision'],
  ['bytes_in', 'bigint'],
  ['bytes_out', 'bigint'],
  ['key_id', 'text'],
  ['app_id', 'text'],
  ['user_sub', 'text'],
  ['client_id', 'text'],
  ['address', 'text'],
  ['user_agent', 'text'],
];
const INSERT = `INSERT INTO request_log (${COLUMNS.map(([c]) => c).join(', ')})
  SELECT * FROM unnest(${COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})`;

export function requestLogRepo(db: PgDb): RequestLogRepo {
  return {
    async append(batch) {
      const entries = entriesOf(batch);
      if (!entries.length) return;
      // One statement per batch: a column array per field.
      await db.query(
        INSERT,
        REQUEST_LOG_FIELDS.map((field) => entries.map((e) => e[field])),
      );
    },
    async query(filters, query) {
      const { where, args } = requestLogWhere(filters);
      const cursor = query.cursor === undefined ? null : parseRequestCursor(query.cursor);
      if (cursor) {
        args.push(cursor.at, cursor.id);
        const [at, id] = [`$${args.length - 1}`, `$${args.length}`];
        // `at <= ?` bounds the index range, so a deep page starts where the last ended instead of scanning to it.
        where.push(`at <= ${at} AND (at < ${at} OR id < ${id})`);
      }
      args.push(query.limit + 1);
      const { rows } = await db.query(
        `SELECT * FROM request_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT $${args.length}`,
        args,
      );
      const items = rows.slice(0, query.limit);
      const last = items.at(-1);
      return {
        items: items.map(requestLogEntryFromRow),
        nextCursor: rows.length > query.limit && last ? requestCursor(Number(last.at), Number(last.id)) : null,
      };
    },
    async deleteBefore(day, limit) {
      const before = Date.parse(`${day}T00:00:00Z`);
      if (!Number.isFinite(before)) throw new Error(`not a day: ${day}`);
      return (await db.query('DELETE FROM request_log WHERE id IN (SELECT id FROM request_log WHERE at < $1 ORDER BY at LIMIT $2)', [before, limit])).rowCount;
    },
  };
}

/** The filters as SQL conditions on the request log's columns, with their arguments. */
function requestLogWhere(f: RequestLogFilters): { where: string[]; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  const arg = (value: unknown) => (args.push(value), `$${args.length}`);
  if (f.since !== undefined) where.push(`at >= ${arg(f.since)}`);
  if (f.until !== undefined) where.push(`at < ${arg(f.until)}`);
  if (f.keyId !== undefined) where.push(`key_id = ${arg(f.keyId)}`);
  if (f.appId !== undefined) where.push(`app_id = ${arg(f.appId)}`);
  if (f.api !== undefined) {
    const api = arg(f.api);
    where.push(`(api_id = ${api} OR api = ${api})`);
  }
  if (f.user !== undefined) where.push(`user_sub = ${arg(f.user)}`);
  if (f.clientId !== undefined) where.push(`client_id = ${arg(f.clientId)}`);
  if (f.status !== undefined) where.push(`status BETWEEN ${arg(f.status.min)} AND ${arg(f.status.max)}`);
  if (f.address !== undefined) where.push(`address = ${arg(f.address)}`);
  if (f.denialCode !== undefined) where.push(`denial_code = ${arg(f.denialCode)}`);
  return { where, args };
}
