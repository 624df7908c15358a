import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { traceServerRequest } from '../../telemetry/http-spans.ts';
import type { Tracing } from '../../telemetry/tracing.ts';
import type { AdminEnv } from './server.ts';

/**
 * A SERVER span per admin API request, named by its route template (`GET /admin/v1/keys/:id`), with
 * the request id and the admin key's id (never the key), or the signed-in user's. The first middleware, so the span covers
 * authentication and refusals too.
 */
export function traceAdminRequests(tracing: Tracing): MiddlewareHandler<AdminEnv> {
  return (c, next) =>
    traceServerRequest(
      tracing,
      c.env.incoming,
      c.env.outgoing,
      () => {
        // Set by later middleware: absent when the request was refused before them.
        const caller = c.get('caller') as AdminEnv['Variables']['caller'] | undefined;
        const requestId = c.get('requestId') as string | undefined;
        return {
          // The handler's route (the last one matched), not the middleware's `*`.
          route: routePath(c, -1),
          attributes: {
            ...(requestId ? { 'gatehouse.request_id': requestId } : {}),
            ...(caller ? { [caller.kind === 'admin key' ? 'gatehouse.admin_key_id' : 'gatehouse.user_id']: caller.id } : {}),
          },
        };
      },
      next,
    );
}
