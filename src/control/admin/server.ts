import { randomBytes } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { ProblemCode } from '../../domain/codes.ts';
import { jsonDepthExceeds } from '../../domain/json-depth.ts';
import { parseAuthorization } from '../../http/authorization-header.ts';
import { problem, problemAnswer, STORAGE_RETRY_AFTER_SECONDS, wwwAuthenticate } from '../../http/problem.ts';
import { StorageUnavailableError } from '../../store/port.ts';
import { LimiterUnavailableError, type Throttle } from '../../limits/port.ts';
import { ControlError, redactSecrets, type Actor, type ControlContext } from '../context.ts';
import type { ConsoleAuthentication } from '../console/authenticate.ts';
import { adminKeysService } from '../services/admin-keys.ts';
import { openApiDocument } from './openapi.ts';
import type { AdminRoute } from './route.ts';
import { ADMIN_ROUTES } from './routes.ts';
import { traceAdminRequests } from './trace-requests.ts';
import type { Tracing } from '../../telemetry/tracing.ts';
import { unstorableTextAt } from '../../domain/inputs/storable-text.ts';

/** Who is calling: an admin key (automation), or a person signed in to the web app (control/console/). */
export interface AdminCaller {
  /** Admin keys hold a list of permission names; a console role maps to some (domain/console-roles.ts). */
  permissions: readonly string[];
  actor: (requestId: string) => Actor;
  /** For PERMISSION_DENIED's detail. */
  kind: 'admin key' | 'console role';
  /** For traces: the admin key's id, or the user's. */
  id: string;
}

export type AdminEnv = { Bindings: HttpBindings; Variables: { requestId: string; caller: AdminCaller } };
type Env = AdminEnv;

export interface AdminApiOptions {
  ctx: ControlContext;
  maxBodyBytes: number;
  /**
   * Failed credential checks per client address (the socket's: the control plane trusts no proxy):
   * wrong admin keys, and unknown keys sent to the verify endpoint. An address out of tokens gets 429
   * before its admin key is looked at.
   */
  throttle: Throttle;
  /** Called for failures that are our fault, with the request id; never with request bodies. */
  onInternalError?: (error: unknown, requestId: string) => void;
  /** Called when the store could not take a change (disk full or read-only, locked): answered 503. */
  onStorageError?: (error: unknown, requestId: string) => void;
  /** OpenTelemetry: a SERVER span per request, when tracing is on. */
  tracing?: Tracing | null;
  /** The web app's sessions, accepted beside admin keys once the authorization server runs; null: admin keys only. */
  console?: () => ConsoleAuthentication | null;
}

/** The admin API under /admin/v1, built from the route table. Options are checked here, once. */
export function createAdminApi(options: AdminApiOptions): Hono<Env> {
  if (!Number.isInteger(options.maxBodyBytes) || options.maxBodyBytes < 1) throw new Error('maxBodyBytes must be a positive integer');
  const { ctx } = options;
  const app = new Hono<Env>().basePath('/admin/v1');
  // Made on first request, not at start: generating it takes a few hundred ms of zod work that would
  // otherwise hold the event loop while the gateway starts serving (issue 14, cold start).
  let document: Record<string, unknown> | null = null;

  if (options.tracing) app.use(traceAdminRequests(options.tracing));
  app.use(async (c, next) => {
    c.set('requestId', randomBytes(12).toString('base64url'));
    c.header('X-Request-Id', c.get('requestId'));
    c.header('Cache-Control', 'no-store');
    await next();
  });
  app.get('/openapi.json', (c) => c.json((document ??= openApiDocument(ADMIN_ROUTES))));
  app.use(async (c, next) => {
    const wait = await options.throttle.blockedFor(clientAddress(c), ctx.clock());
    if (wait > 0) {
      const res = render(c, 'AUTH_RATE_LIMITED', 'too many failed attempts from this address; retry later');
      res.headers.set('Retry-After', String(Math.max(1, Math.ceil(wait / 1000))));
      return res;
    }
    // RFC 6750 §2.1: an admin key is a bearer credential; the scheme is case-insensitive (RFC 7235 §2.1).
    const credential = parseAuthorization(c.req.header('authorization'));
    const secret = credential?.scheme === 'bearer' ? credential.token : undefined;
    // Without an Authorization header, the web app's session cookie (with its CSRF defences) may stand in.
    const consoleAuth = c.req.header('authorization') === undefined ? options.console?.() : null;
    if (consoleAuth?.hasSessionCookie(c.env.incoming)) {
      const outcome = await consoleAuth.authenticate(c.env.incoming);
      if (outcome.result !== 'ok') return render(c, outcome.code, outcome.detail);
      const principal = outcome.principal;
      c.set('caller', { permissions: principal.permissions, actor: principal.actor, kind: 'console role', id: principal.user.id });
      return next();
    }
    const adminKey = secret ? await adminKeysService.authenticate(ctx, secret) : null;
    if (!adminKey) {
      // A key that was sent and failed is a guess; a request without one is not.
      if (secret) await options.throttle.recordFailure(clientAddress(c), ctx.clock());
      const res = render(c, 'UNAUTHENTICATED', secret ? 'the admin key is not valid' : 'send an admin key as Authorization: Bearer gka_live_...');
      res.headers.set('WWW-Authenticate', wwwAuthenticate('MISSING_CREDENTIAL', 'gatehouse-admin')!);
      return res;
    }
    c.set('caller', {
      permissions: adminKey.permissions,
      actor: (requestId) => ({ actor: `admin_key:${adminKey.id}`, requestId }),
      kind: 'admin key',
      id: adminKey.id,
    });
    await next();
  });
  const limit = bodyLimit({
    maxSize: options.maxBodyBytes,
    onError: (c) => render(c, 'BODY_TOO_LARGE', `the body may be at most ${options.maxBodyBytes} bytes`),
  });
  // Routes that take a document (rawBody) have their own, larger limit.
  const rawLimits = ADMIN_ROUTES.filter((r) => r.rawBody).map((r) => ({
    method: r.method.toUpperCase(),
    pattern: new RegExp(`^/admin/v1${r.path.replace(/\{\w+\}/g, '[^/]+')}$`),
    limit: bodyLimit({ maxSize: r.rawBody!.maxBytes, onError: (c) => render(c, 'BODY_TOO_LARGE', `the body may be at most ${r.rawBody!.maxBytes} bytes`) }),
  }));
  app.use((c, next) => (rawLimits.find((r) => r.method === c.req.method && r.pattern.test(c.req.path))?.limit ?? limit)(c, next));

  for (const r of ADMIN_ROUTES) register(app, r, ctx, options.throttle);

  app.notFound((c) => render(c, 'RESOURCE_NOT_FOUND', `no admin route ${c.req.method} ${redactSecrets(new URL(c.req.url).pathname)}`));
  app.onError((error, c) => {
    if (error instanceof ControlError) {
      const res = render(c, error.code, error.message, error.fields);
      for (const [name, value] of Object.entries(error.headers())) res.headers.set(name, value);
      return res;
    }
    if (error instanceof StorageUnavailableError) {
      options.onStorageError?.(error, c.get('requestId'));
      const res = render(c, 'STORAGE_UNAVAILABLE', 'the store cannot take changes right now; nothing was changed: retry later');
      res.headers.set('Retry-After', String(STORAGE_RETRY_AFTER_SECONDS));
      return res;
    }
    if (error instanceof LimiterUnavailableError) {
      options.onInternalError?.(error, c.get('requestId'));
      const res = render(c, 'LIMITS_UNAVAILABLE', 'a limit of this request could not be counted; nothing was changed: retry later');
      res.headers.set('Retry-After', '1');
      return res;
    }
    options.onInternalError?.(error, c.get('requestId'));
    return render(c, 'INTERNAL', 'an unexpected error; the request id identifies it in the logs');
  });
  return app;
}

function register(app: Hono<Env>, r: AdminRoute, ctx: ControlContext, throttle: Throttle): void {
  const path = r.path.replace(/\{(\w+)\}/g, ':$1');
  app.on(r.method.toUpperCase(), path, async (c) => {
    const caller = c.get('caller');
    if (!caller.permissions.includes(r.permission)) {
      return render(c, 'PERMISSION_DENIED', `this action needs the ${r.permission} permission, which this ${caller.kind} does not have`);
    }
    const query = r.query ? validate(r.query, c.req.query(), 'query') : undefined;
    const body = r.rawBody ? refuseNul(await readRaw(c, r.rawBody.types), 'body') : r.body ? validate(r.body, await readJson(c), 'body') : undefined;
    const result = await r.handle({
      ctx,
      actor: caller.actor(c.get('requestId')),
      params: refuseNul(c.req.param() as Record<string, string>, 'path'),
      body: body as never,
      query: query as never,
      countFailure: () => throttle.recordFailure(clientAddress(c), ctx.clock()),
      accept: c.req.header('accept') ?? '',
    });
    if (r.status === 204) return c.body(null, 204);
    // An export streams its own body and type; the common headers (request id, no-store) join them.
    if (result instanceof Response) return c.newResponse(result.body, result.status as ContentfulStatusCode, Object.fromEntries(result.headers));
    return c.json(result as object, r.status);
  });
}

/** Deep enough for every admin resource (API auth rules nest about 5 levels) and metadata. */
const MAX_BODY_DEPTH = 32;

const clientAddress = (c: Context<Env>): string => c.env.incoming.socket.remoteAddress ?? 'unknown';

async function readRaw(c: Context<Env>, types: readonly string[]): Promise<{ contentType: string; text: string }> {
  const contentType = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!types.includes(contentType)) throw new ControlError('UNSUPPORTED_MEDIA_TYPE', `send the body as ${types.join(' or ')}`);
  return { contentType, text: await c.req.text() };
}

/** A JSON body (or {} when empty), its depth bounded before it is parsed. */
export async function readJson(c: { req: { header(name: string): string | undefined; text(): Promise<string> } }): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  const text = await c.req.text();
  if (text.length === 0) return {};
  if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) throw new ControlError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  // Bounded before anything recurses into it (the parser, the schema, the metadata size check).
  if (jsonDepthExceeds(text, MAX_BODY_DEPTH))
    throw new ControlError('VALIDATION_FAILED', `the body nests deeper than ${MAX_BODY_DEPTH} levels`, {
      body: `at most ${MAX_BODY_DEPTH} levels of objects and arrays`,
    });
  try {
    return JSON.parse(text);
  } catch {
    throw new ControlError('INVALID_JSON', 'the body could not be parsed as JSON');
  }
}

/** 400 VALIDATION_FAILED naming the field when a string or name in `input` holds text no store keeps as sent (unstorableTextAt). */
export function refuseNul<T>(input: T, where: 'body' | 'query' | 'path'): T {
  const at = unstorableTextAt(input);
  if (at === null) return input;
  const field = [where, ...at].join('.');
  throw new ControlError('VALIDATION_FAILED', `the ${where} is not valid: ${field}`, { [field]: 'must be text without U+0000 (NUL) or a lone surrogate' });
}

/** The schema's output, or 400 VALIDATION_FAILED naming each field. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query'): z.output<S> {
  refuseNul(input, where);
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields: Record<string, string> = {};
  for (const issue of result.error.issues) {
    // Messages name the field and what was expected, never the received value, but a name the caller
    // sent (a record's key, a key zod does not know: `Unrecognized key: "gk_live_..."`) is quoted.
    fields[redactSecrets([where, ...issue.path].join('.'))] = redactSecrets(issue.message);
  }
  throw new ControlError('VALIDATION_FAILED', `the ${where} is not valid: ${Object.keys(fields).join(', ')}`, fields);
}

function render(c: Context<Env>, code: ProblemCode, detail: string, fields?: Record<string, string>): Response {
  const answer = problemAnswer(problem(code, detail, c.get('requestId') ?? null, fields));
  return c.newResponse(answer.body, answer.status as ContentfulStatusCode, answer.headers);
}
