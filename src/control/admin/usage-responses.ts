import { z } from 'zod';
import { about, named, time } from './responses.ts';

/** Counts summed over a bucket, a series or the whole answer. */
const counts = {
  requests: z.number().int(),
  bytesIn: z.number().int(),
  bytesOut: z.number().int(),
  durationMs: about('summed request durations (arrival to the end of the answer)', z.number()),
  averageDurationMs: about('durationMs / requests; null without requests', z.number().nullable()),
  p50Ms: about(
    'median request duration, from a fixed latency histogram (bounds 1, 2, 5 ... 10000 ms): interpolated linearly inside its bucket, as Prometheus histogram_quantile; 10000 means at least that; null without requests',
    z.number().nullable(),
  ),
  p99Ms: about('99th percentile request duration, estimated as p50Ms; null without requests', z.number().nullable()),
};

const dimension = () => z.string().nullable().optional();

export const usageReportResponse = named(
  'UsageReport',
  'Request counts per bucket and group, with totals: every gateway request (answered, or closed unanswered) counted once',
  z.strictObject({
    from: about('the first bucket’s start: `from` as asked, moved back to the granularity’s boundary', z.iso.datetime()),
    until: about('the end of the last bucket (excluded)', z.iso.datetime()),
    granularity: z.enum(['minute', 'hour', 'day']),
    groupBy: z.array(z.string()),
    totals: z.strictObject(counts),
    series: z.array(
      z.strictObject({
        group: about(
          'the grouped dimensions’ values (ids for key, app and api); null: none (no key, no API, forwarded)',
          z.strictObject({ key: dimension(), app: dimension(), api: dimension(), route: dimension(), statusClass: dimension(), denialCode: dimension() }),
        ),
        totals: z.strictObject(counts),
        points: about('buckets with requests only, oldest first', z.array(z.strictObject({ at: time, ...counts }))),
      }),
    ),
  }),
);
export type UsageReportView = z.input<typeof usageReportResponse>;

export const billingRowResponse = named(
  'BillingUsage',
  'The usage of one app on one API in one calendar period; the same id whenever the same period is exported again',
  z.strictObject({
    id: about('deterministic from app, API, period and time zone: deduplicate with it (a Stripe meter event’s `identifier`)', z.string()),
    appId: z.string(),
    apiId: z.string(),
    period: z.enum(['day', 'month']),
    label: about('the local calendar day (YYYY-MM-DD) or month (YYYY-MM)', z.string()),
    periodStart: about('RFC 3339 with the time zone’s offset', z.iso.datetime({ offset: true })),
    periodEnd: about('the first instant after the period', z.iso.datetime({ offset: true })),
    timeZone: z.string(),
    billableRequests: about('requests Gatehouse forwarded (no denial code), whatever the upstream answered', z.number().int()),
    deniedRequests: about('requests with a denial code: refused by Gatehouse, or the upstream unreachable or too slow', z.number().int()),
    serverErrors: about('of the billable requests, those answered with a 5xx: to credit, if you choose to', z.number().int()),
    final: about('the period is over and this node has written all its counts: the numbers will not change', z.boolean()),
  }),
);
export type BillingRowView = z.input<typeof billingRowResponse>;

export const billingExportResponse = named(
  'BillingExport',
  'Usage per app, API and calendar period',
  z.strictObject({ period: z.enum(['day', 'month']), timeZone: z.string(), items: z.array(billingRowResponse) }),
);
export type BillingExportView = z.input<typeof billingExportResponse>;
