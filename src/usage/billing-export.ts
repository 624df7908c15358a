import { createHash } from 'node:crypto';
import type { BillingPeriod } from '../domain/billing-period.ts';
import { rfc3339InZone } from '../domain/billing-period.ts';
import { csvField } from '../requests/export.ts';
import type { UsageRow } from '../store/port.ts';

/** One app's use of one API in one calendar period (docs/observability/usage.md#billing). */
export interface BillingRow {
  id: string;
  appId: string;
  apiId: string;
  period: BillingPeriod['kind'];
  label: string;
  periodStart: string;
  periodEnd: string;
  timeZone: string;
  billableRequests: number;
  deniedRequests: number;
  serverErrors: number;
  final: boolean;
}

/**
 * The export's stable id: a hash of what names the period, so exporting it again (or from another
 * node) gives the same id and a consumer that deduplicates by it never counts it twice. 128 bits, hex.
 */
export function billingRowId(appId: string, apiId: string, period: BillingPeriod, timeZone: string): string {
  const digest = createHash('sha256').update(`gatehouse-billing\n${appId}\n${apiId}\n${period.kind}\n${period.label}\n${timeZone}`).digest('hex');
  return `bil_${digest.slice(0, 32)}`;
}

/**
 * A period's rows from its hour rollups grouped by app, API, denial code and status class: billable
 * requests are those without a denial code (Gatehouse forwarded them), whatever the upstream answered;
 * requests of no app (no key, or a token without one) or no API bill nobody and are left out.
 */
export function billingRows(period: BillingPeriod, timeZone: string, rows: readonly UsageRow[], final: boolean): BillingRow[] {
  const byPair = new Map<string, BillingRow>();
  for (const row of rows) {
    const { app, api, denialCode, statusClass } = row.group;
    if (app == null || api == null) continue;
    let out = byPair.get(`${app}\n${api}`);
    if (!out) {
      out = {
        id: billingRowId(app, api, period, timeZone),
        appId: app,
        apiId: api,
        period: period.kind,
        label: period.label,
        periodStart: rfc3339InZone(timeZone, period.start),
        periodEnd: rfc3339InZone(timeZone, period.end),
        timeZone,
        billableRequests: 0,
        deniedRequests: 0,
        serverErrors: 0,
        final,
      };
      byPair.set(`${app}\n${api}`, out);
    }
    if (denialCode == null) {
      out.billableRequests += row.requests;
      if (statusClass === '5xx') out.serverErrors += row.requests;
    } else out.deniedRequests += row.requests;
  }
  return [...byPair.values()].sort((a, b) => (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : a.apiId < b.apiId ? -1 : a.apiId > b.apiId ? 1 : 0));
}

export const BILLING_CSV_COLUMNS = [
  'id',
  'appId',
  'apiId',
  'period',
  'label',
  'periodStart',
  'periodEnd',
  'timeZone',
  'billableRequests',
  'deniedRequests',
  'serverErrors',
  'final',
] as const satisfies readonly (keyof BillingRow)[];

/** RFC 4180 CSV with a header line; fields made safe for spreadsheets as the request-log export's are. */
export function billingCsv(rows: readonly BillingRow[]): string {
  const line = (values: readonly (string | number | boolean)[]) => `${values.map((v) => csvField(v)).join(',')}\r\n`;
  return line(BILLING_CSV_COLUMNS) + rows.map((row) => line(BILLING_CSV_COLUMNS.map((c) => row[c]))).join('');
}
