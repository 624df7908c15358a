import { formatAccepted } from '../services/request-log.ts';
import { usageAnalyticsService } from '../services/usage-analytics.ts';
import { route, type AdminRoute } from './route.ts';
import { billingQuerySchema, usageQuerySchema } from './usage-query.ts';
import { billingExportResponse, usageReportResponse } from './usage-responses.ts';

/** Usage analytics (docs/observability/usage.md): series and totals, and the billing export. */
export const USAGE_ROUTES: readonly AdminRoute[] = [
  route({
    method: 'get',
    path: '/usage',
    tag: 'usage',
    permission: 'usage:read',
    status: 200,
    query: usageQuerySchema,
    response: usageReportResponse,
    summary: 'Request counts per minute, hour or day, grouped by key, app, API, route, status class or denial code, with totals',
    description:
      'Counts not yet written are written first, so the answer includes every request answered so far. `from`/`until`: RFC 3339 or a duration back from now (`24h`); the range is widened to whole buckets. A filter of `none` selects requests without that dimension (no key, no API; for denialCode: forwarded).',
    handle: ({ ctx, query }) => usageAnalyticsService.report(ctx, query),
  }),
  route({
    method: 'get',
    path: '/usage/billing',
    tag: 'usage',
    permission: 'usage:read',
    status: 200,
    query: billingQuerySchema,
    response: billingExportResponse,
    produces: ['text/csv'],
    summary: 'Usage per app, API and calendar period (analytics.billingTimeZone), with stable ids; format=csv (or Accept: text/csv) for CSV',
    description:
      'Every whole period that overlaps from..until (default: the previous period and the current one). Billable requests are those Gatehouse forwarded (no denial code). A row is `final` once its period is over and its counts are written; its id never changes, so re-exporting never double-counts in a consumer that deduplicates by it.',
    handle: ({ ctx, query, accept }) => {
      const format = query.format ?? (formatAccepted(accept) === 'csv' ? 'csv' : 'json');
      return usageAnalyticsService.billing(ctx, query, format);
    },
  }),
];
