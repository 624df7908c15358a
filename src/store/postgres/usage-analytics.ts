import type { UsageAnalyticsRepo, UsageCell, UsageDimension, UsageGranularity, UsageRow } from '../port.ts';
import type { PgDb } from './db.ts';

/** Each dimension's column in usage_rollups; '' in a column is "none", null in the port. */
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
const CELL = ['granularity', 'bucket', 'api_id', 'route', 'key_id', 'app_id', 'status_class', 'denial_code'] as const;

/**
 * Usage analytics on PostgreSQL, with the SQLite adapter's rules: each cell is added to its minute,
 * hour and day row in one transaction, so the coarser rows are exactly the sum of their minutes.
 * Rows landing on one cell are summed first (one INSERT ... ON CONFLICT may not touch a row twice),
 * then written with one statement.
 */
export function usageAnalyticsRepo(db: PgDb): UsageAnalyticsRepo {
  return {
    async add(cells: readonly UsageCell[]) {
      const rows = new Map<string, { cell: (string | number)[]; counts: [number, number, number, number] }>();
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
          const row = rows.get(id) ?? { cell, counts: [0, 0, 0, 0] };
          row.counts[0] += c.requests;
          row.counts[1] += c.bytesIn;
          row.counts[2] += c.bytesOut;
          row.counts[3] += c.durationUs;
          rows.set(id, row);
        }
      }
      if (!rows.size) return;
      const all = [...rows.values()];
      const column = (i: number) => all.map((r) => r.cell[i]);
      const count = (i: number) => all.map((r) => r.counts[i]);
      await db.query(
        `INSERT INTO usage_rollups (${CELL.join(', ')}, requests, bytes_in, bytes_out, duration_us)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
           $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[])
         ON CONFLICT (${CELL.join(', ')}) DO UPDATE SET
           requests = usage_rollups.requests + excluded.requests, bytes_in = usage_rollups.bytes_in + excluded.bytes_in,
           bytes_out = usage_rollups.bytes_out + excluded.bytes_out, duration_us = usage_rollups.duration_us + excluded.duration_us`,
        [...CELL.map((_, i) => column(i)), count(0), count(1), count(2), count(3)],
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
      const text = `SELECT ${[...keys, 'SUM(requests) AS requests', 'SUM(bytes_in) AS bytes_in', 'SUM(bytes_out) AS bytes_out', 'SUM(duration_us) AS duration_us'].join(', ')}
        FROM usage_rollups WHERE ${where.join(' AND ')}
        ${keys.length ? `GROUP BY ${keys.join(', ')} ORDER BY ${keys.map((k) => (k === 'bucket' ? k : `${k} COLLATE "C"`)).join(', ')}` : ''} LIMIT $${args.length}`;
      const { rows } = await db.query(text, args);
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
      const { rowCount } = await db.query(
        'DELETE FROM usage_rollups WHERE ctid = ANY (ARRAY(SELECT ctid FROM usage_rollups WHERE granularity = $1 AND bucket < $2 ORDER BY granularity, bucket LIMIT $3))',
        [granularity, before, limit],
      );
      return rowCount;
    },
  };
}
