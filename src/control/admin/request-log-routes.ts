import { EXPORT_TYPES, formatAccepted, requestLogService } from '../services/request-log.ts';
import { requestLogQuerySchema } from './request-log-query.ts';
import { pageOf, requestRecordResponse } from './responses.ts';
import { route, type AdminRoute } from './route.ts';

/** `GET /admin/v1/requests`: the request log, newest first; a page as JSON, or every match as NDJSON or CSV. */
export const REQUEST_LOG_ROUTES: readonly AdminRoute[] = [
  route({
    method: 'get',
    path: '/requests',
    tag: 'requests',
    permission: 'requests:read',
    status: 200,
    query: requestLogQuerySchema,
    response: pageOf(requestRecordResponse),
    produces: Object.values(EXPORT_TYPES),
    summary: 'The request log, newest first, filtered; format=ndjson|csv (or Accept) exports every match',
    handle: async ({ ctx, query, accept }) => {
      const format = query.format ?? formatAccepted(accept);
      return format === 'json' ? requestLogService.page(ctx, query) : requestLogService.export(ctx, query, format);
    },
  }),
];
