import { CSV_HEADER, csvLine, ndjsonLine, requestView } from '../../requests/export.ts';
import type { RequestLogFilters } from '../../store/port.ts';
import type { RequestLogQuery } from '../admin/request-log-query.ts';
import { ControlError, type ControlContext } from '../context.ts';

export type ExportFormat = 'ndjson' | 'csv';
export const EXPORT_TYPES: Readonly<Record<ExportFormat, string>> = { ndjson: 'application/x-ndjson', csv: 'text/csv' };

/** Records read per query while an export streams: each read is short (on the reader thread), the export is not. */
const EXPORT_PAGE = 1000;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The request log, read (ctx.requestLog: on a store thread of its own) newest first. */
export const requestLogService = {
  async page(ctx: ControlContext, query: RequestLogQuery) {
    const page = await ctx.requestLog.query(requestLogFilters(query, ctx.clock()), { limit: query.limit, cursor: query.cursor });
    return { items: page.items.map(requestView), nextCursor: page.nextCursor };
  },

  /**
   * Every matching record (from `cursor` on, when given), streamed a page at a time. The first page is
   * read before answering, so a store that cannot be read is a 503 problem, not a truncated export.
   */
  async export(ctx: ControlContext, query: RequestLogQuery, format: ExportFormat): Promise<Response> {
    const filters = requestLogFilters(query, ctx.clock());
    const line = format === 'csv' ? csvLine : ndjsonLine;
    const encoder = new TextEncoder();
    let page = await ctx.requestLog.query(filters, { limit: EXPORT_PAGE, cursor: query.cursor });
    let first = true;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!first) page = await ctx.requestLog.query(filters, { limit: EXPORT_PAGE, cursor: page.nextCursor! });
        const text = (first && format === 'csv' ? CSV_HEADER : '') + page.items.map((e) => line(requestView(e))).join('');
        first = false;
        if (text !== '') controller.enqueue(encoder.encode(text));
        if (page.nextCursor === null) controller.close();
      },
    });
    const stamp = new Date(ctx.clock()).toISOString().replace(/[:.]/g, '-');
    return new Response(body, {
      status: 200,
      headers: {
        'content-type': format === 'csv' ? `${EXPORT_TYPES.csv}; charset=utf-8; header=present` : `${EXPORT_TYPES.ndjson}; charset=utf-8`,
        'content-disposition': `attachment; filename="requests-${stamp}.${format}"`,
      },
    });
  },
};

/** The query's filters for the store: times resolved against the server's clock, a status class as a range. */
export function requestLogFilters(query: RequestLogQuery, now: number): RequestLogFilters {
  const since = query.since === undefined ? undefined : pointInTime(query.since, now);
  const until = query.until === undefined ? undefined : pointInTime(query.until, now);
  if (since !== undefined && until !== undefined && since >= until)
    throw new ControlError('VALIDATION_FAILED', 'the time range is empty', { 'query.until': 'must be after since' });
  let status: RequestLogFilters['status'];
  if (query.status !== undefined) {
    const n = query.status.endsWith('xx') ? Number(query.status[0]) * 100 : Number(query.status);
    status = query.status.endsWith('xx') ? { min: n, max: n + 99 } : { min: n, max: n };
  }
  return {
    since,
    until,
    status,
    keyId: query.keyId,
    appId: query.appId,
    api: query.api,
    user: query.user,
    clientId: query.clientId,
    address: query.address?.toLowerCase(),
    denialCode: query.code,
  };
}

/** An RFC 3339 time, or a duration back from `now` (`15m`, `7d`), as epoch ms. */
export function pointInTime(value: string, now: number): number {
  const relative = /^(\d+)([smhd])$/.exec(value);
  return relative ? now - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS] : Date.parse(value);
}

/** NDJSON or CSV when the client asks for one of them before JSON; JSON otherwise. */
export function formatAccepted(accept: string): 'json' | ExportFormat {
  for (const part of accept.split(',')) {
    const type = part.split(';')[0]!.trim().toLowerCase();
    if (type === EXPORT_TYPES.ndjson) return 'ndjson';
    if (type === EXPORT_TYPES.csv) return 'csv';
    if (type === 'application/json') return 'json';
  }
  return 'json';
}
