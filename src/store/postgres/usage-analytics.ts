import type { UsageAnalyticsRepo, UsageCell, UsageDimension } from '../port.ts';
import { COUNT_COLUMNS, countValues, DIMENSION_COLUMNS as COLUMNS, GRANULARITIES, SUMS, usageRow, WIDTH_MS } from '../usage-rollups.ts';
import type { PgDb } from './db.ts';

const CELL = ['granularity', 'bucket', 'api_id', 'route', 'key_id', 'app_id', 'status_class', 'denial_code'] as const;

/**
 * Usage analytics on PostgreSQL, with the SQLite adapter's rules: each cell is added to its minute,
 * hour and day row in one transaction, so the coarser rows are exactly the sum of their minutes.
 * Rows landing on one cell are summed first (one INSERT ... ON CONFLICT may not touch a row twice),
 * then written with one statement, in cell order: two nodes adding the same cells lock their rows in
 * the same order, so the second waits instead of deadlocking.
 */
export function usageAnalyticsRepo(db: PgDb): UsageAnalyticsRepo {
  return {
    async add(cells: readonly UsageCell[]) {
      const rows = new Map<string, { cell: (string | number)[]; counts: number[] }>();
      for (const c of cells) {
        for (const granularity of GRANULARITIES) {
          const cell = [
            granularity,
            c.minute - (c.minute % WIDTH_MS[granularity]),
            c.apiId ?? '',
            c.route ?? '',
            c.keyId ?? '',
            c.appId ?? '',
            c.statusClass,
            c.denialCode ?? '',
          ];
          const id = JSON.stringify(cell);
          const values = countValues(c);
          const row = rows.get(id);
          if (row) for (let i = 0; i < values.length; i++) row.counts[i]! += values[i]!;
          else rows.set(id, { cell, counts: values });
        }
      }
      if (!rows.size) return;
      const all = [...rows.values()];
      const column = (i: number) => all.map((r) => r.cell[i]);
      // One array parameter per column: bucket and counts bigint[], the dimensions text[].
      const counts = COUNT_COLUMNS.map((_, i) => all.map((r) => r.counts[i]!));
      const params = Array.from({ length: CELL.length + COUNT_COLUMNS.length }, (_, i) => `$${i + 1}::${i === 1 || i >= CELL.length ? 'bigint' : 'text'}[]`);
      await db.query(
        `INSERT INTO usage_rollups (${CELL.join(', ')}, ${COUNT_COLUMNS.join(', ')})
         SELECT * FROM unnest(${params.join(', ')}) AS r(${CELL.join(', ')}, ${COUNT_COLUMNS.join(', ')})
         ORDER BY ${CELL.map((c, i) => (i === 1 ? `r.${c}` : `r.${c} COLLATE "C"`)).join(', ')}
         ON CONFLICT (${CELL.join(', ')}) DO UPDATE SET
           ${COUNT_COLUMNS.map((c) => `${c} = usage_rollups.${c} + excluded.${c}`).join(', ')}`,
        [...CELL.map((_, i) => column(i)), ...counts],
      );
    },

    async query(q) {
      const groupColumns = q.groupBy.map((d) => COLUMNS[d]);
      const args: unknown[] = [q.granularity, q.from, q.until];
      const where = ['granularity = $1', 'bucket >= $2', 'bucket < $3'];
      for (const [dimension, value] of Object.entries(q.filters) as [UsageDimension, string | null | undefined][]) {
        if (value === undefined) continue;
        if (!Object.hasOwn(COLUMNS, dimension)) throw new Error(`not a usage dimension: ${dimension}`);
        args.push(value ?? '');
        where.push(`${COLUMNS[dimension]} = $${args.length}`);
      }
      args.push(q.limit + 1);
      const keys = [...(q.perBucket ? ['bucket'] : []), ...groupColumns];
      const text = `SELECT ${[...keys, ...SUMS].join(', ')}
        FROM usage_rollups WHERE ${where.join(' AND ')}
        ${keys.length ? `GROUP BY ${keys.join(', ')} ORDER BY ${keys.map((k) => (k === 'bucket' ? k : `${k} COLLATE "C"`)).join(', ')}` : ''} LIMIT $${args.length}`;
      const { rows } = await db.query(text, args);
      return rows
        .filter((row) => row.requests !== null) // SUM over no rows, when nothing is grouped
        .map((row) => usageRow(row, q));
    },

    async deleteBefore(granularity, before, limit) {
      const { rowCount } = await db.query(
        'DELETE FROM usage_rollups WHERE ctid = ANY (ARRAY(SELECT ctid FROM usage_rollups WHERE granularity = $1 AND bucket < $2 ORDER BY granularity, bucket LIMIT $3))',
        [granularity, before, limit],
      );
      return rowCount;
    },
  };
}
