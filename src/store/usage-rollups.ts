import { LATENCY_BUCKETS } from '../domain/latency-histogram.ts';
import type { UsageCounts, UsageDimension, UsageGranularity, UsageQuery, UsageRow } from './port.ts';

/**
 * What both adapters' usage_rollups share: column names and how a summed row reads back. Each
 * dimension's column; '' in a column is "none", null in the port.
 */
export const DIMENSION_COLUMNS: Readonly<Record<UsageDimension, string>> = {
  key: 'key_id',
  app: 'app_id',
  api: 'api_id',
  route: 'route',
  statusClass: 'status_class',
  denialCode: 'denial_code',
};

export const WIDTH_MS: Readonly<Record<UsageGranularity, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
export const GRANULARITIES = Object.keys(WIDTH_MS) as UsageGranularity[];

/**
 * One integer column per latency bucket (SQLite migration 17, PostgreSQL 5): plain columns sum in SQL
 * and add in an upsert, as the other counts do; a JSON array could do neither.
 */
export const LATENCY_COLUMNS: readonly string[] = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `lat_${i}`);
/** The counts' columns, in UsageCounts order: requests, bytes in and out, duration, then the histogram. */
export const COUNT_COLUMNS: readonly string[] = ['requests', 'bytes_in', 'bytes_out', 'duration_us', ...LATENCY_COLUMNS];
/** A cell's counts in COUNT_COLUMNS order: the values an upsert adds. */
export const countValues = (c: UsageCounts): number[] => [c.requests, c.bytesIn, c.bytesOut, c.durationUs, ...c.latency];
/** The SELECT list's sums, each named as its column. */
export const SUMS = COUNT_COLUMNS.map((c) => `SUM(${c}) AS ${c}`);

/** A row of summed counts as the port's UsageRow (engines answer sums as numbers, bigints or strings). */
export function usageRow(row: Record<string, unknown>, q: Pick<UsageQuery, 'groupBy' | 'perBucket'>): UsageRow {
  const group: UsageRow['group'] = {};
  for (const d of q.groupBy) group[d] = row[DIMENSION_COLUMNS[d]] === '' ? null : String(row[DIMENSION_COLUMNS[d]]);
  return {
    bucket: q.perBucket ? Number(row.bucket) : null,
    group,
    requests: Number(row.requests),
    bytesIn: Number(row.bytes_in),
    bytesOut: Number(row.bytes_out),
    durationUs: Number(row.duration_us),
    latency: LATENCY_COLUMNS.map((c) => Number(row[c])),
  };
}

/**
 * The migration adding the histogram's columns, for either engine. Its count is written out (14, not
 * LATENCY_BUCKETS): a migration never changes once applied, whatever the code later holds.
 */
export function latencyColumnsMigration(type: 'INTEGER' | 'BIGINT'): string {
  return Array.from({ length: 14 }, (_, i) => `ALTER TABLE usage_rollups ADD COLUMN lat_${i} ${type} NOT NULL DEFAULT 0;`).join('\n');
}
