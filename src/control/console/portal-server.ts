import { randomBytes } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ProblemCode } from '../../domain/codes.ts';
import { mayUsePortal } from '../../domain/console-roles.ts';
import { problem, problemAnswer, STORAGE_RETRY_AFTER_SECONDS } from '../../http/problem.ts';
import { StorageUnavailableError } from '../../store/port.ts';
import { openApiDocument } from '../admin/openapi.ts';
import { readJson, refuseNul, validate } from '../admin/server.ts';
import { ControlError, redactSecrets, type ControlContext } from '../context.ts';
import type { ConsoleAuthentication } from './authenticate.ts';
import { PORTAL_CLIENT_ROUTES } from './portal-client-routes.ts';
import { PORTAL_ROUTES, type PortalRoute } from './portal-routes.ts';
import { PORTAL_WEBHOOK_ROUTES } from './portal-webhook-routes.ts';
import type { SessionPrincipal } from './sessions.ts';

/** Every portal route: apps, keys and the catalogue, then OAuth clients and webhooks of the developer's apps. */
const ROUTES: readonly PortalRoute[] = [...PORTAL_ROUTES, ...PORTAL_CLIENT_ROUTES, ...PORTAL_WEBHOOK_ROUTES];

type Env = { Bindings: HttpBindings; Variables: { requestId: string; principal: SessionPrincipal } };

const PORTAL_DESCRIPTION = [
  'The developer portal’s API: a developer’s own apps, their keys, OAuth clients and webhook endpoints, within the limits the operator set, and the catalogue of APIs listed for them.',
  'It takes the web app’s session (the `__Host-gatehouse-session` cookie set by /bff/callback); every request other than GET and HEAD also carries `X-CSRF-Token` (from GET /bff/session) and comes from the web app’s origin.',
  'Anything that is not the caller’s own is answered 404, as if it did not exist.',
].join('\n\n');

/**
 * /portal/v1 (docs/console.md): the same validation, problems and OpenAPI generation as the admin API,
 * with the web app's session instead of an admin key, for developers (and operators and admins, who
 * see their own apps there). Ownership is checked by the service, per resource.
 */
export function createPortalApi(o: {
  ctx: ControlContext;
  authentication: ConsoleAuthentication;
  gatewayUrl: string;
  maxBodyBytes: number;
  onInternalError: (error: unknown, requestId: string) => void;
}): Hono<Env> {
  const app = new Hono<Env>().basePath('/portal/v1');
  let document: Record<string, unknown> | null = null;
  app.use(async (c, next) => {
    c.set('requestId', randomBytes(12).toString('base64url'));
    c.header('X-Request-Id', c.get('requestId'));
    c.header('Cache-Control', 'no-store');
    await next();
  });
  app.get('/openapi.json', (c) =>
    c.json(
      (document ??= openApiDocument(ROUTES, {
        title: 'Gatehouse developer portal API',
        description: PORTAL_DESCRIPTION,
        server: '/portal/v1',
        security: { name: 'session', scheme: { type: 'apiKey', in: 'cookie', name: '__Host-gatehouse-session', description: 'The web app’s session' } },
      })),
    ),
  );
  app.use(async (c, next) => {
    const outcome = await o.authentication.authenticate(c.env.incoming);
    if (outcome.result !== 'ok') return render(c, outcome.code, outcome.detail);
    if (!mayUsePortal(outcome.principal.role)) return render(c, 'PERMISSION_DENIED', 'the developer portal is for developers, operators and admins');
    c.set('principal', outcome.principal);
    return next();
  });
  app.use(bodyLimit({ maxSize: o.maxBodyBytes, onError: (c) => render(c, 'BODY_TOO_LARGE', `the body may be at most ${o.maxBodyBytes} bytes`) }));
  for (const r of ROUTES) register(app, r, o);
  app.notFound((c) => render(c, 'RESOURCE_NOT_FOUND', `no portal route ${c.req.method} ${redactSecrets(new URL(c.req.url).pathname)}`));
  app.onError((error, c) => {
    if (error instanceof ControlError) {
      const res = render(c, error.code, error.message, error.fields);
      for (const [name, value] of Object.entries(error.headers())) res.headers.set(name, value);
      return res;
    }
    if (error instanceof StorageUnavailableError) {
      const res = render(c, 'STORAGE_UNAVAILABLE', 'the store cannot take changes right now; nothing was changed: retry later');
      res.headers.set('Retry-After', String(STORAGE_RETRY_AFTER_SECONDS));
      return res;
    }
    o.onInternalError(error, c.get('requestId'));
    return render(c, 'INTERNAL', 'an unexpected error; the request id identifies it in the logs');
  });
  return app;
}

function register(app: Hono<Env>, r: PortalRoute, o: { ctx: ControlContext; gatewayUrl: string }): void {
  const path = r.path.replace(/\{(\w+)\}/g, ':$1');
  app.on(r.method.toUpperCase(), path, async (c) => {
    const principal = c.get('principal');
    const query = r.query ? validate(r.query, c.req.query(), 'query') : undefined;
    const body = r.body ? validate(r.body, await readJson(c), 'body') : undefined;
    const result = await r.handle({
      ctx: o.ctx,
      principal,
      actor: principal.actor(c.get('requestId')),
      gatewayUrl: o.gatewayUrl,
      params: refuseNul(c.req.param() as Record<string, string>, 'path'),
      body: body as never,
      query: query as never,
    });
    if (r.status === 204) return c.body(null, 204);
    return c.json(result as object, r.status);
  });
}

function render(c: Context<Env>, code: ProblemCode, detail: string, fields?: Record<string, string>): Response {
  const answer = problemAnswer(problem(code, detail, c.get('requestId') ?? null, fields));
  return c.newResponse(answer.body, answer.status as ContentfulStatusCode, answer.headers);
}
