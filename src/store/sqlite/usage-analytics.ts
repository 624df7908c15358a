import type { SQLInputValue } from 'node:sqlite';
import type { SqliteDb } from './db.ts';
import type { UsageAnalyticsRepo, UsageCell, UsageDimension } from '../port.ts';
import { COUNT_COLUMNS, countValues, DIMENSION_COLUMNS as COLUMNS, GRANULARITIES, SUMS, usageRow, WIDTH_MS } from '../usage-rollups.ts';

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
          `INSERT INTO usage_rollups (granularity, bucket, api_id, route, key_id, app_id, status_class, denial_code, ${COUNT_COLUMNS.join(', ')})
           VALUES (${Array.from({ length: 8 + COUNT_COLUMNS.length }, () => '?').join(',')})
           ON CONFLICT (granularity, bucket, api_id, route, key_id, app_id, status_class, denial_code) DO UPDATE SET
             ${COUNT_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
        );
        for (const c of cells) {
          const counts = countValues(c);
          for (const granularity of GRANULARITIES) {
            const bucket = c.minute - (c.minute % WIDTH_MS[granularity]);
            upsert.run(granularity, bucket, c.apiId ?? '', c.route ?? '', c.keyId ?? '', c.appId ?? '', c.statusClass, c.denialCode ?? '', ...counts);
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
      const text = `SELECT ${[...keys, ...SUMS].join(', ')}
        FROM usage_rollups WHERE ${where.join(' AND ')}
        ${keys.length ? `GROUP BY ${keys.join(', ')} ORDER BY ${keys.join(', ')}` : ''} LIMIT ?`;
      const rows = sql(text).all(...args, q.limit + 1);
      return rows
        .filter((row) => row.requests !== null) // SUM over no rows, when nothing is grouped
        .map((row) => usageRow(row, q));
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
