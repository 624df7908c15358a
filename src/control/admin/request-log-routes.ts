import { CSV_HEADER, csvLine, ndjsonLine, requestView } from '../../requests/export.ts';
import type { RequestLogFilters } from '../../store/port.ts';
import { ControlError, type ControlContext } from '../context.ts';
import { route, type AdminRoute } from './route.ts';
import { requestLogQuerySchema, type RequestLogQuery } from './schemas.ts';

const NDJSON = 'application/x-ndjson';
const CSV = 'text/csv';
/** Records read per store query while an export streams: each read is short, the export is not. */
const EXPORT_PAGE = 1000;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `GET /admin/v1/requests`: the request log, newest first; a page as JSON, or every match as NDJSON or CSV. */
export const REQUEST_LOG_ROUTES: readonly AdminRoute[] = [
  route({
    method: 'get', path: '/requests', tag: 'requests', permission: 'requests:read', status: 200, query: requestLogQuerySchema, produces: [NDJSON, CSV],
    summary: 'The request log, newest first, filtered; format=ndjson|csv (or Accept) exports every match',
    handle: async ({ ctx, query, accept }) => {
      const filters = requestLogFilters(query, ctx.clock());
      const format = query.format ?? formatAccepted(accept);
      if (format === 'json') {
        const page = await ctx.requestLog.query(filters, { limit: query.limit, cursor: query.cursor });
        return { items: page.items.map(requestView), nextCursor: page.nextCursor };
      }
      return exportResponse(ctx, filters, format, query.cursor, ctx.clock());
    },
  }),
];

/** The query's filters for the store: times resolved against the server's clock, a status class as a range. */
export function requestLogFilters(query: RequestLogQuery, now: number): RequestLogFilters {
  const since = query.since === undefined ? undefined : pointInTime(query.since, now);
  const until = query.until === undefined ? undefined : pointInTime(query.until, now);
  if (since !== undefined && until !== undefined && since >= until) throw new ControlError('VALIDATION_FAILED', 'the time range is empty', { 'query.until': 'must be after since' });
  let status: RequestLogFilters['status'];
  if (query.status !== undefined) {
    const n = query.status.endsWith('xx') ? Number(query.status[0]) * 100 : Number(query.status);
    status = query.status.endsWith('xx') ? { min: n, max: n + 99 } : { min: n, max: n };
  }
  return {
    since, until, status, keyId: query.keyId, appId: query.appId, api: query.api, user: query.user, clientId: query.clientId,
    address: query.address?.toLowerCase(), denialCode: query.code,
  };
}

function pointInTime(value: string, now: number): number {
  const relative = /^(\d+)([smhd])$/.exec(value);
  return relative ? now - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS] : Date.parse(value);
}

/** NDJSON or CSV when the client asks for one of them (and not for JSON first); JSON otherwise. */
function formatAccepted(accept: string): 'json' | 'ndjson' | 'csv' {
  for (const part of accept.split(',')) {
    const type = part.split(';')[0]!.trim().toLowerCase();
    if (type === NDJSON) return 'ndjson';
    if (type === CSV) return 'csv';
    if (type === 'application/json') return 'json';
  }
  return 'json';
}

/**
 * Every matching record, streamed a page at a time (each a short store read). The first page is read
 * before answering, so a store that cannot be read is a 503 problem, not a truncated export.
 */
async function exportResponse(ctx: ControlContext, filters: RequestLogFilters, format: 'ndjson' | 'csv', cursor: string | undefined, now: number): Promise<Response> {
  const line = format === 'csv' ? csvLine : ndjsonLine;
  const encoder = new TextEncoder();
  let page = await ctx.requestLog.query(filters, { limit: EXPORT_PAGE, cursor });
  let first = true;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!first) {
        if (page.nextCursor === null) return controller.close();
        page = await ctx.requestLog.query(filters, { limit: EXPORT_PAGE, cursor: page.nextCursor });
      }
      const text = (first && format === 'csv' ? CSV_HEADER : '') + page.items.map((e) => line(requestView(e))).join('');
      first = false;
      if (text !== '') controller.enqueue(encoder.encode(text));
      if (page.nextCursor === null) controller.close();
    },
  });
  const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': format === 'csv' ? `${CSV}; charset=utf-8; header=present` : `${NDJSON}; charset=utf-8`,
      'content-disposition': `attachment; filename="requests-${stamp}.${format}"`,
    },
  });
}
