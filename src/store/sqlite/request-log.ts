import { requestLogEntryFromRow } from '../rows.ts';
import type { SQLInputValue } from 'node:sqlite';
import type { RequestLogFilters, RequestLogRepo } from '../port.ts';
import type { SqliteDb } from './db.ts';
import { parseRequestCursor, requestCursor } from '../cursors.ts';

export function requestLogRepo(db: SqliteDb): RequestLogRepo {
  return {
    async append(entries) {
      db.transaction(() => {
        const insert = db.sql(
          // The columns in REQUEST_LOG_FIELDS order.
          `INSERT INTO request_log (at, request_id, trace_id, api_id, api, route, method, path, query, status, denial_code, duration_ms,
             upstream_ms, bytes_in, bytes_out, key_id, app_id, user_sub, client_id, address, user_agent) VALUES (${Array(21).fill('?').join(',')})`,
        );
        // Field by field (not a map over REQUEST_LOG_FIELDS): one monomorphic load each, no array per row.
        for (const e of entries)
          insert.run(
            e.at,
            e.requestId,
            e.traceId,
            e.apiId,
            e.api,
            e.route,
            e.method,
            e.path,
            e.query,
            e.status,
            e.denialCode,
            e.durationMs,
            e.upstreamMs,
            e.bytesIn,
            e.bytesOut,
            e.keyId,
            e.appId,
            e.user,
            e.clientId,
            e.address,
            e.userAgent,
          );
      });
    },
    async query(filters, query) {
      const { where, args } = requestLogWhere(filters);
      const cursor = query.cursor === undefined ? null : parseRequestCursor(query.cursor);
      // `at <= ?` bounds the index range, so a deep page starts where the last ended instead of scanning to it.
      if (cursor) (where.push('at <= ? AND (at < ? OR id < ?)'), args.push(cursor.at, cursor.at, cursor.id));
      const rows = db
        .sql(`SELECT * FROM request_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ?`)
        .all(...args, query.limit + 1);
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
      return db.transaction(() =>
        Number(db.sql('DELETE FROM request_log WHERE id IN (SELECT id FROM request_log WHERE at < ? ORDER BY at LIMIT ?)').run(before, limit).changes),
      );
    },
  };
}

/** The filters as SQL conditions on the request log's columns, with their arguments. */
function requestLogWhere(f: RequestLogFilters): { where: string[]; args: SQLInputValue[] } {
  const where: string[] = [];
  const args: SQLInputValue[] = [];
  const add = (condition: string, ...values: SQLInputValue[]) => (where.push(condition), args.push(...values));
  if (f.since !== undefined) add('at >= ?', f.since);
  if (f.until !== undefined) add('at < ?', f.until);
  if (f.keyId !== undefined) add('key_id = ?', f.keyId);
  if (f.appId !== undefined) add('app_id = ?', f.appId);
  if (f.api !== undefined) add('(api_id = ? OR api = ?)', f.api, f.api);
  if (f.user !== undefined) add('user_sub = ?', f.user);
  if (f.clientId !== undefined) add('client_id = ?', f.clientId);
  if (f.status !== undefined) add('status BETWEEN ? AND ?', f.status.min, f.status.max);
  if (f.address !== undefined) add('address = ?', f.address);
  if (f.denialCode !== undefined) add('denial_code = ?', f.denialCode);
  return { where, args };
}
