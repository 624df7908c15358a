import type { z } from 'zod';
import type { Page } from '../../store/port.ts';
import type { Actor, ControlContext } from '../context.ts';
import { apisService, apiView } from '../services/apis.ts';
import { appsService, appView } from '../services/apps.ts';
import { auditService } from '../services/audit.ts';
import { keysService } from '../services/keys.ts';
import { policiesService, policyView } from '../services/policies.ts';
import { usageService } from '../services/usage.ts';
import { verificationService } from '../services/verification.ts';
import { IDENTITY_ROUTES } from './identity-routes.ts';
import { INCIDENT_ROUTES } from './incident-routes.ts';
import { KEY_ADDRESS_ROUTES } from './key-address-routes.ts';
import * as res from './responses.ts';
import { REQUEST_LOG_ROUTES } from './request-log-routes.ts';
import { SCAN_ROUTES } from './scan-routes.ts';
import { USAGE_ROUTES } from './usage-routes.ts';
import { WEBHOOK_ROUTES } from './webhook-routes.ts';
import { PORTAL_ADMIN_ROUTES } from './portal-admin-routes.ts';
import { route, type AdminRoute } from './route.ts';
import * as s from '../../domain/inputs/resources.ts';
import * as q from './queries.ts';
import { DEFAULT_QUIET_PERIOD_SECONDS } from '../../domain/rotation.ts';

const pageOf = async <T, V>(page: { items: T[]; nextCursor: string | null }, view: (item: T) => V | Promise<V>) => ({
  items: await Promise.all(page.items.map(view)),
  nextCursor: page.nextCursor,
});

interface CrudService<T, I, P> {
  list(ctx: ControlContext, query: z.output<typeof q.namedPageQuerySchema>): Promise<Page<T>>;
  get(ctx: ControlContext, id: string): Promise<T>;
  create(ctx: ControlContext, actor: Actor, input: I): Promise<T>;
  update(ctx: ControlContext, actor: Actor, id: string, patch: P): Promise<T>;
  delete(ctx: ControlContext, actor: Actor, id: string): Promise<void>;
}

/** List (by name too), create, get, change and delete for a simple resource whose permissions are `<tag>:read|write`. */
function crudRoutes<T, I extends z.ZodType, P extends z.ZodType, R extends z.ZodType>(o: {
  path: string;
  tag: 'apis' | 'apps' | 'policies';
  noun: string;
  service: CrudService<T, z.output<I>, z.output<P>>;
  view: (item: T) => z.input<R>;
  response: R;
  input: I;
  patch: P;
  summaries: { create: string; update?: string; delete: string };
}): AdminRoute[] {
  const read = `${o.tag}:read` as const;
  const write = `${o.tag}:write` as const;
  const item = `${o.path}/{id}`;
  // The view is tied to the response schema by this function's signature; inside, R is still generic.
  type Answer = z.ZodType;
  return [
    route({
      method: 'get',
      path: o.path,
      tag: o.tag,
      permission: read,
      summary: `List ${o.tag}`,
      status: 200,
      query: q.namedPageQuerySchema,
      response: res.pageOf(o.response),
      description: `With \`name\`, only those of exactly that name: how a client turns a name into the id that references take.`,
      handle: async ({ ctx, query }) => pageOf(await o.service.list(ctx, query), o.view),
    }),
    route<I, undefined, Answer>({
      method: 'post',
      path: o.path,
      tag: o.tag,
      permission: write,
      summary: o.summaries.create,
      status: 201,
      body: o.input,
      response: o.response,
      handle: async ({ ctx, actor, body }) => o.view(await o.service.create(ctx, actor, body as z.output<I>)),
    }),
    route<undefined, undefined, Answer>({
      method: 'get',
      path: item,
      tag: o.tag,
      permission: read,
      summary: `Get ${o.noun}`,
      status: 200,
      response: o.response,
      handle: async ({ ctx, params }) => o.view(await o.service.get(ctx, params.id!)),
    }),
    route<P, undefined, Answer>({
      method: 'patch',
      path: item,
      tag: o.tag,
      permission: write,
      summary: o.summaries.update ?? `Change ${o.noun}`,
      status: 200,
      body: o.patch,
      response: o.response,
      handle: async ({ ctx, actor, params, body }) => o.view(await o.service.update(ctx, actor, params.id!, body as z.output<P>)),
    }),
    route({
      method: 'delete',
      path: item,
      tag: o.tag,
      permission: write,
      summary: o.summaries.delete,
      status: 204,
      handle: ({ ctx, actor, params }) => o.service.delete(ctx, actor, params.id!),
    }),
  ];
}

/** The admin API, as a table: method, path, the one permission it needs, its schemas, its handler. */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  ...crudRoutes({
    path: '/apis',
    tag: 'apis',
    noun: 'an API',
    service: apisService,
    view: apiView,
    response: res.apiResponse,
    input: s.apiInputSchema,
    patch: s.apiPatchSchema,
    summaries: { create: 'Publish an API', delete: 'Delete an API' },
  }),
  ...crudRoutes({
    path: '/apps',
    tag: 'apps',
    noun: 'an app',
    service: appsService,
    view: appView,
    response: res.appResponse,
    input: s.appInputSchema,
    patch: s.appPatchSchema,
    summaries: { create: 'Register an app', delete: 'Delete an app with its revoked and expired keys (none may be in use)' },
  }),
  ...crudRoutes({
    path: '/policies',
    tag: 'policies',
    noun: 'a policy',
    service: policiesService,
    view: policyView,
    response: res.policyResponse,
    input: s.policyInputSchema,
    patch: s.policyPatchSchema,
    summaries: { create: 'Create a policy', update: 'Change a policy (applies to its keys at once)', delete: 'Delete a policy (no key may use it)' },
  }),

  route({
    method: 'get',
    path: '/keys',
    tag: 'keys',
    permission: 'keys:read',
    summary: 'List keys',
    status: 200,
    query: q.keyListQuerySchema,
    response: res.pageOf(res.keyResponse),
    handle: async ({ ctx, query }) => pageOf(await keysService.list(ctx, query), (k) => keysService.view(ctx, k)),
  }),
  route({
    method: 'post',
    path: '/keys',
    tag: 'keys',
    permission: 'keys:write',
    summary: 'Issue a key (the secret is in this answer only)',
    status: 201,
    body: s.keyCreateSchema,
    response: res.newKeyResponse,
    description: 'The key must work on some API: give `access` (rules naming API ids) or a `policyId` whose policy grants access.',
    handle: async ({ ctx, actor, body }) => {
      const { key, secret } = await keysService.create(ctx, actor, body);
      return { ...(await keysService.view(ctx, key)), secret };
    },
  }),
  route({
    method: 'post',
    path: '/keys/verify',
    tag: 'keys',
    permission: 'keys:verify',
    summary: 'Verify a key for a service outside the gateway',
    status: 200,
    body: s.verifyRequestSchema,
    response: res.verificationResponse,
    description:
      'Denials are data (`valid: false` with a code), as the gateway decides them. `api` names the API by name or id: a lookup, not a stored reference.',
    handle: ({ ctx, body, countFailure }) => verificationService.verify(ctx, body, countFailure),
  }),
  ...KEY_ADDRESS_ROUTES,
  ...SCAN_ROUTES,
  ...INCIDENT_ROUTES,
  route({
    method: 'patch',
    path: '/keys/{id}',
    tag: 'keys',
    permission: 'keys:write',
    summary: 'Change a key; enabled=false disables it',
    status: 200,
    body: s.keyPatchSchema,
    response: res.keyResponse,
    handle: async ({ ctx, actor, params, body }) => keysService.view(ctx, await keysService.update(ctx, actor, params.id!, body)),
  }),
  route({
    method: 'post',
    path: '/keys/{id}/rotate',
    tag: 'keys',
    permission: 'keys:write',
    summary: 'Rotate a key with a grace period; `retire: when-drained` revokes the old key once it goes unused for a quiet period',
    status: 201,
    body: s.keyRotateSchema,
    response: res.rotatedKeyResponse,
    handle: async ({ ctx, actor, params, body }) => {
      const drained = body.retire === 'when-drained' ? { quietPeriodSeconds: body.quietPeriodSeconds ?? DEFAULT_QUIET_PERIOD_SECONDS } : undefined;
      const { key, secret, previous } = await keysService.rotate(ctx, actor, params.id!, body.gracePeriodSeconds, drained);
      return { ...(await keysService.view(ctx, key)), secret, previous: await keysService.view(ctx, previous) };
    },
  }),
  route({
    method: 'post',
    path: '/keys/{id}/revoke',
    tag: 'keys',
    permission: 'keys:write',
    summary: 'Revoke a key at once',
    status: 200,
    body: s.keyRevokeSchema,
    response: res.keyResponse,
    handle: async ({ ctx, actor, params, body }) => keysService.view(ctx, await keysService.revoke(ctx, actor, params.id!, body.reason)),
  }),
  route({
    method: 'delete',
    path: '/keys/{id}',
    tag: 'keys',
    permission: 'keys:write',
    summary: 'Delete a key and its usage',
    status: 204,
    handle: ({ ctx, actor, params }) => keysService.delete(ctx, actor, params.id!),
  }),
  route({
    method: 'get',
    path: '/keys/{id}/usage',
    tag: 'keys',
    permission: 'keys:read',
    summary: 'Requests per day for a key',
    status: 200,
    response: res.keyUsageResponse,
    handle: ({ ctx, params }) => usageService.requestsByDay(ctx, params.id!),
  }),

  route({
    method: 'get',
    path: '/audit',
    tag: 'audit',
    permission: 'audit:read',
    summary: 'The audit log, newest first',
    status: 200,
    query: q.auditQuerySchema,
    response: res.pageOf(res.auditEntryResponse),
    handle: ({ ctx, query }) => auditService.list(ctx, query),
  }),
  ...REQUEST_LOG_ROUTES,
  ...USAGE_ROUTES,
  ...IDENTITY_ROUTES,
  ...WEBHOOK_ROUTES,
  ...PORTAL_ADMIN_ROUTES,
];
