import { periodAt, periodsOverlapping } from '../../domain/billing-period.ts';
import { addHistogram, emptyHistogram, quantileOf } from '../../domain/latency-histogram.ts';
import type { UsageCounts, UsageDimension, UsageFilters, UsageGranularity, UsageRow } from '../../store/port.ts';
import { billingCsv, billingRows, type BillingRow } from '../../usage/billing-export.ts';
import type { BillingQueryInput, UsageQueryInput } from '../admin/usage-query.ts';
import { NONE } from '../admin/usage-query.ts';
import type { BillingExportView, UsageReportView } from '../admin/usage-responses.ts';
import { ControlError, type AnalyticsContext, type ControlContext } from '../context.ts';
import { pointInTime } from './request-log.ts';

const WIDTH_MS: Readonly<Record<UsageGranularity, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Buckets one answer may span, and rows (bucket and group) it may hold: a few MB of JSON at most. */
const MAX_BUCKETS = 5000;
const MAX_ROWS = 50_000;
/** Billing periods one export may cover: a year and a month of days. */
const MAX_PERIODS = 400;
/** The default granularity answers at most about this many buckets. */
const DEFAULT_POINTS = 400;

/** Usage analytics: series and totals from the rollups, and the billing export. Counts not yet written are flushed first. */
export const usageAnalyticsService = {
  async report(ctx: ControlContext, query: UsageQueryInput): Promise<UsageReportView> {
    const analytics = enabled(ctx);
    const now = ctx.clock();
    const { from: askedFrom, until: askedUntil } = range(query.from, query.until, now, DAY_MS);
    const granularity = query.granularity ?? defaultGranularity(askedFrom, askedUntil, now, analytics);
    const width = WIDTH_MS[granularity];
    const from = askedFrom - (askedFrom % width);
    const until = Math.ceil(askedUntil / width) * width;
    if ((until - from) / width > MAX_BUCKETS)
      throw new ControlError('USAGE_QUERY_TOO_LARGE', `${(until - from) / width} ${granularity} buckets; at most ${MAX_BUCKETS} per query`);
    const groupBy = query.groupBy ?? [];
    const filters: UsageFilters = {
      ...(query.keyId !== undefined ? { key: noneAsNull(query.keyId) } : {}),
      ...(query.appId !== undefined ? { app: noneAsNull(query.appId) } : {}),
      ...(query.api !== undefined ? { api: await apiId(ctx, query.api) } : {}),
      ...(query.route !== undefined ? { route: noneAsNull(query.route) } : {}),
      ...(query.statusClass !== undefined ? { statusClass: query.statusClass } : {}),
      ...(query.denialCode !== undefined ? { denialCode: noneAsNull(query.denialCode) } : {}),
    };
    await analytics.flush();
    const rows = await analytics.query({ granularity, from, until, groupBy, filters, perBucket: true, limit: MAX_ROWS });
    if (rows.length > MAX_ROWS)
      throw new ControlError('USAGE_QUERY_TOO_LARGE', `more than ${MAX_ROWS} points (buckets times groups); narrow the range, filter or group by less`);
    return { from: iso(from), until: iso(until), granularity, groupBy: [...groupBy], ...series(rows, groupBy) };
  },

  /** Usage per app, API and calendar period, as JSON, or as CSV (a Response) when asked for. */
  async billing(ctx: ControlContext, query: BillingQueryInput, format: 'json' | 'csv'): Promise<BillingExportView | Response> {
    const analytics = enabled(ctx);
    const zone = analytics.billingTimeZone;
    const now = ctx.clock();
    const current = periodAt(zone, query.period, now);
    const previous = periodAt(zone, query.period, current.start - 1);
    const { from, until } = range(query.from, query.until, now, now - previous.start);
    const keptFrom = now - analytics.retention.hourRetentionDays * DAY_MS;
    // Bounded before any period is listed: each costs time-zone look-ups on the event loop, and a zone's
    // early history (local mean time) has offsets no billing period can be made of.
    const longest = query.period === 'day' ? 25 * HOUR_MS : 31 * DAY_MS + HOUR_MS;
    if (until - from > MAX_PERIODS * longest)
      throw new ControlError('USAGE_QUERY_TOO_LARGE', `more than ${MAX_PERIODS} periods; at most ${MAX_PERIODS} per export`);
    if (from < keptFrom)
      throw new ControlError(
        'USAGE_NOT_RETAINED',
        `billing reads hour rollups, kept ${analytics.retention.hourRetentionDays} days (analytics.hourRetentionDays): the range starts before ${iso(keptFrom - (keptFrom % HOUR_MS) + HOUR_MS)}`,
      );
    const periods = periodsOverlapping(zone, query.period, from, until);
    if (periods.length > MAX_PERIODS) throw new ControlError('USAGE_QUERY_TOO_LARGE', `${periods.length} periods; at most ${MAX_PERIODS} per export`);
    if (periods[0]!.start < keptFrom)
      throw new ControlError(
        'USAGE_NOT_RETAINED',
        `billing reads hour rollups, kept ${analytics.retention.hourRetentionDays} days (analytics.hourRetentionDays): the period ${periods[0]!.label} starts before ${iso(keptFrom - (keptFrom % HOUR_MS) + HOUR_MS)}`,
      );
    const filters: UsageFilters = {
      ...(query.appId !== undefined ? { app: query.appId } : {}),
      ...(query.api !== undefined ? { api: await apiId(ctx, query.api) } : {}),
    };
    await analytics.flush();
    const items: BillingRow[] = [];
    for (const period of periods) {
      const rows = await analytics.query({
        granularity: 'hour',
        from: period.start,
        until: period.end,
        groupBy: ['app', 'api', 'denialCode', 'statusClass'],
        filters,
        perBucket: false,
        limit: MAX_ROWS,
      });
      if (rows.length > MAX_ROWS) throw new ControlError('USAGE_QUERY_TOO_LARGE', `more than ${MAX_ROWS} rows in ${period.label}; filter by app or API`);
      items.push(...billingRows(period, zone, rows, now >= period.end + analytics.settleMs));
    }
    if (format === 'json') return { period: query.period, timeZone: zone, items };
    const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
    return new Response(billingCsv(items), {
      status: 200,
      headers: {
        'content-type': 'text/csv; charset=utf-8; header=present',
        'content-disposition': `attachment; filename="usage-billing-${query.period}-${stamp}.csv"`,
      },
    });
  },
};

function enabled(ctx: ControlContext): AnalyticsContext {
  if (ctx.analytics === null)
    throw new ControlError('ANALYTICS_DISABLED', 'usage analytics are off: set analytics.enabled (GATEHOUSE_ANALYTICS_ENABLED) to true');
  return ctx.analytics;
}

/** The asked range as epoch ms: `until` defaults to now, `from` to `defaultSpanMs` before it. */
function range(fromText: string | undefined, untilText: string | undefined, now: number, defaultSpanMs: number): { from: number; until: number } {
  const until = untilText === undefined ? now : pointInTime(untilText, now);
  const from = fromText === undefined ? until - defaultSpanMs : pointInTime(fromText, now);
  if (from >= until) throw new ControlError('VALIDATION_FAILED', 'the time range is empty', { 'query.until': 'must be after from' });
  return { from, until };
}

/**
 * The finest granularity whose rollup still holds the range's start and that answers at most about
 * DEFAULT_POINTS buckets: minutes for a few hours, hours for a couple of weeks, days beyond.
 */
function defaultGranularity(from: number, until: number, now: number, analytics: AnalyticsContext): UsageGranularity {
  const { minuteRetentionHours, hourRetentionDays } = analytics.retention;
  if ((until - from) / WIDTH_MS.minute <= DEFAULT_POINTS && from >= now - minuteRetentionHours * HOUR_MS) return 'minute';
  if ((until - from) / WIDTH_MS.hour <= DEFAULT_POINTS && from >= now - hourRetentionDays * DAY_MS) return 'hour';
  return 'day';
}

const noneAsNull = (value: string): string | null => (value === NONE ? null : value);
const iso = (at: number) => new Date(at).toISOString();

/** An API filter's value as the id the rollups hold: an id as given, a name looked up, `none` as null. */
async function apiId(ctx: ControlContext, api: string): Promise<string | null> {
  if (api === NONE) return null;
  if (/^api_[0-9a-f]{28}$/.test(api)) return api;
  const found = await ctx.store.apis.list({ name: api, limit: 1 });
  if (!found.items[0]) throw new ControlError('RESOURCE_NOT_FOUND', `no API named ${api}`);
  return found.items[0].id;
}

function view(c: UsageCounts) {
  return {
    requests: c.requests,
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    durationMs: c.durationUs / 1000,
    averageDurationMs: c.requests === 0 ? null : c.durationUs / 1000 / c.requests,
    // From the histogram summed over the bucket, series or range: exact to a bucket, whatever the span.
    p50Ms: quantileOf(c.latency, 0.5),
    p99Ms: quantileOf(c.latency, 0.99),
  };
}

const zero = (): UsageCounts => ({ requests: 0, bytesIn: 0, bytesOut: 0, durationUs: 0, latency: emptyHistogram() });
const addTo = (sum: UsageCounts, c: UsageCounts) => {
  sum.requests += c.requests;
  sum.bytesIn += c.bytesIn;
  sum.bytesOut += c.bytesOut;
  sum.durationUs += c.durationUs;
  addHistogram(sum.latency, c.latency);
};

/** Rows (ordered by bucket) as one series per group, the busiest first, with totals. */
function series(rows: readonly UsageRow[], groupBy: readonly UsageDimension[]): Pick<UsageReportView, 'totals' | 'series'> {
  const total = zero();
  const groups = new Map<string, { group: UsageFilters; sum: UsageCounts; points: UsageReportView['series'][number]['points'] }>();
  for (const row of rows) {
    const key = JSON.stringify(groupBy.map((d) => row.group[d]));
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { group: row.group, sum: zero(), points: [] }));
    addTo(g.sum, row);
    addTo(total, row);
    g.points.push({ at: iso(row.bucket!), ...view(row) });
  }
  const ordered = [...groups.values()].sort((a, b) => b.sum.requests - a.sum.requests);
  return { totals: view(total), series: ordered.map((g) => ({ group: g.group, totals: view(g.sum), points: g.points })) };
}
