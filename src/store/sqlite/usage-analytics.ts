import type { SQLInputValue } from 'node:sqlite';
import type { SqliteDb } from './db.ts';
import type { UsageAnalyticsRepo, UsageCell, UsageDimension, UsageGranularity, UsageRow } from '../port.ts';

/** Each dimension's column in usage_rollups (migration 8); '' in a column is "none", null in the port. */
const COLUMNS: Readonly<Record<UsageDimension, string>> = {
  key: 'key_id',
  app: 'app_id',
  api: 'api_id',
  route: 'route',
  statusClass: 'status_class',
  denialCode: 'denial_code',
};

const WIDTH_MS: Readonly<Record<UsageGranularity, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const GRANULARITIES = Object.keys(WIDTH_MS) as UsageGranularity[];

/**
 * Usage analytics on SQLite. `add` writes each cell three times (its minute, hour and day row) in the
 * caller's one transaction, adding to the rows already there, so the hour and day rows always hold
 * exactly the sum of their minutes, whatever minutes retention has since deleted.
 */
export function usageAnalyticsRepo({ sql, transaction }: SqliteDb): UsageAnalyticsRepo {
  return {
    async add(cells: readonly UsageCell[]) {
      transaction(() => {
        const upsert = sql(
          `INSERT INTO usage_rollups (granularity, bucket, api_id, route, key_id, app_id, status_class, denial_code, requests, bytes_in, bytes_out, duration_us)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
           ON CONFLICT (granularity, bucket, api_id, route, key_id, app_id, status_class, denial_code) DO UPDATE SET
             requests = requests + excluded.requests, bytes_in = bytes_in + excluded.bytes_in,
             bytes_out = bytes_out + excluded.bytes_out, duration_us = duration_us + excluded.duration_us`,
        );
        for (const c of cells) {
          for (const granularity of GRANULARITIES) {
            const bucket = c.minute - (c.minute % WIDTH_MS[granularity]);
            upsert.run(
              granularity,
              bucket,
              c.apiId ?? '',
              c.route ?? '',
              c.keyId ?? '',
              c.appId ?? '',
              c.statusClass,
              c.denialCode ?? '',
              c.requests,
              c.bytesIn,
              c.bytesOut,
              c.durationUs,
            );
          }
        }
      });
    },

    async query(q) {
      const groupColumns = q.groupBy.map((d) => COLUMNS[d]);
      const where = ['granularity = ?', 'bucket >= ?', 'bucket < ?'];
      const args: SQLInputValue[] = [q.granularity, q.from, q.until];
      for (const [dimension, value] of Object.entries(q.filters) as [UsageDimension, string | null | undefined][]) {
        if (value === undefined) continue;
        if (!Object.hasOwn(COLUMNS, dimension)) throw new Error(`not a usage dimension: ${dimension}`);
        where.push(`${COLUMNS[dimension]} = ?`);
        args.push(value ?? '');
      }
      const keys = [...(q.perBucket ? ['bucket'] : []), ...groupColumns];
      const text = `SELECT ${[...keys, 'SUM(requests) AS requests', 'SUM(bytes_in) AS bytes_in', 'SUM(bytes_out) AS bytes_out', 'SUM(duration_us) AS duration_us'].join(', ')}
        FROM usage_rollups WHERE ${where.join(' AND ')}
        ${keys.length ? `GROUP BY ${keys.join(', ')} ORDER BY ${keys.join(', ')}` : ''} LIMIT ?`;
      const rows = sql(text).all(...args, q.limit + 1);
      return rows
        .filter((row) => row.requests !== null) // SUM over no rows, when nothing is grouped
        .map((row): UsageRow => {
          const group: UsageRow['group'] = {};
          for (const d of q.groupBy) group[d] = row[COLUMNS[d]] === '' ? null : String(row[COLUMNS[d]]);
          return {
            bucket: q.perBucket ? Number(row.bucket) : null,
            group,
            requests: Number(row.requests),
            bytesIn: Number(row.bytes_in),
            bytesOut: Number(row.bytes_out),
            durationUs: Number(row.duration_us),
          };
        });
    },

    async deleteBefore(granularity, before, limit) {
      return transaction(() =>
        Number(
          sql(
            'DELETE FROM usage_rollups WHERE rowid IN (SELECT rowid FROM usage_rollups WHERE granularity = ? AND bucket < ? ORDER BY granularity, bucket LIMIT ?)',
          ).run(granularity, before, limit).changes,
        ),
      );
    },
  };
}
