import type { z } from 'zod';
import { canonicalPath, hasNonAscii } from '../../domain/canonical-path.ts';
import { isFailedKeyCheck } from '../../domain/codes.ts';
import type { Page, PageQuery } from '../../store/port.ts';
import { ControlError, type Actor, type ControlContext } from '../context.ts';
import { apisService, apiView } from '../services/apis.ts';
import { appsService, appView } from '../services/apps.ts';
import { keysService } from '../services/keys.ts';
import { policiesService, policyView } from '../services/policies.ts';
import { verificationView } from './verification-view.ts';
import { IDENTITY_ROUTES } from './identity-routes.ts';
import { REQUEST_LOG_ROUTES } from './request-log-routes.ts';
import { route, type AdminRoute } from './route.ts';
import * as s from './schemas.ts';

const pageOf = async <T, V>(page: { items: T[]; nextCursor: string | null }, view: (item: T) => V | Promise<V>) => ({
  items: await Promise.all(page.items.map(view)),
  nextCursor: page.nextCursor,
});

interface CrudService<T, I, P> {
  list(ctx: ControlContext, query: PageQuery): Promise<Page<T>>;
  get(ctx: ControlContext, id: string): Promise<T>;
  create(ctx: ControlContext, actor: Actor, input: I): Promise<T>;
  update(ctx: ControlContext, actor: Actor, id: string, patch: P): Promise<T>;
  delete(ctx: ControlContext, actor: Actor, id: string): Promise<void>;
}

/** List, create, get, change and delete for a simple resource whose permissions are `<tag>:read|write`. */
function crudRoutes<T, I extends z.ZodType, P extends z.ZodType>(o: {
  path: string;
  tag: 'apis' | 'apps' | 'policies';
  noun: string;
  service: CrudService<T, z.output<I>, z.output<P>>;
  view: (item: T) => unknown;
  input: I;
  patch: P;
  summaries: { create: string; update?: string; delete: string };
}): AdminRoute[] {
  const read = `${o.tag}:read` as const;
  const write = `${o.tag}:write` as const;
  const item = `${o.path}/{id}`;
  return [
    route({ method: 'get', path: o.path, tag: o.tag, permission: read, summary: `List ${o.tag}`, status: 200, query: s.pageQuerySchema,
      handle: async ({ ctx, query }) => pageOf(await o.service.list(ctx, query), o.view) }),
    route({ method: 'post', path: o.path, tag: o.tag, permission: write, summary: o.summaries.create, status: 201, body: o.input,
      handle: async ({ ctx, actor, body }) => o.view(await o.service.create(ctx, actor, body as z.output<I>)) }),
    route({ method: 'get', path: item, tag: o.tag, permission: read, summary: `Get ${o.noun}`, status: 200,
      handle: async ({ ctx, params }) => o.view(await o.service.get(ctx, params.id!)) }),
    route({ method: 'patch', path: item, tag: o.tag, permission: write, summary: o.summaries.update ?? `Change ${o.noun}`, status: 200, body: o.patch,
      handle: async ({ ctx, actor, params, body }) => o.view(await o.service.update(ctx, actor, params.id!, body as z.output<P>)) }),
    route({ method: 'delete', path: item, tag: o.tag, permission: write, summary: o.summaries.delete, status: 204,
      handle: ({ ctx, actor, params }) => o.service.delete(ctx, actor, params.id!) }),
  ];
}

/** The admin API, as a table: method, path, the one permission it needs, its schemas, its handler. */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  ...crudRoutes({
    path: '/apis', tag: 'apis', noun: 'an API', service: apisService, view: apiView, input: s.apiInputSchema, patch: s.apiPatchSchema,
    summaries: { create: 'Publish an API', delete: 'Delete an API' },
  }),
  ...crudRoutes({
    path: '/apps', tag: 'apps', noun: 'an app', service: appsService, view: appView, input: s.appInputSchema, patch: s.appPatchSchema,
    summaries: { create: 'Register an app', delete: 'Delete an app (it must have no keys)' },
  }),
  ...crudRoutes({
    path: '/policies', tag: 'policies', noun: 'a policy', service: policiesService, view: policyView, input: s.policyInputSchema, patch: s.policyPatchSchema,
    summaries: { create: 'Create a policy', update: 'Change a policy (applies to its keys at once)', delete: 'Delete a policy (no key may use it)' },
  }),

  route({ method: 'get', path: '/keys', tag: 'keys', permission: 'keys:read', summary: 'List keys', status: 200, query: s.keyListQuerySchema,
    handle: async ({ ctx, query }) => pageOf(await keysService.list(ctx, query), (k) => keysService.view(ctx, k)) }),
  route({ method: 'post', path: '/keys', tag: 'keys', permission: 'keys:write', summary: 'Issue a key (the secret is in this answer only)', status: 201, body: s.keyCreateSchema,
    handle: async ({ ctx, actor, body }) => {
      const { key, secret } = await keysService.create(ctx, actor, body);
      return { ...(await keysService.view(ctx, key)), secret };
    } }),
  route({ method: 'post', path: '/keys/verify', tag: 'keys', permission: 'keys:verify', summary: 'Verify a key for a service outside the gateway', status: 200, body: s.verifyRequestSchema,
    handle: async ({ ctx, body, countFailure }) => {
      let apiId: string | undefined;
      let caseInsensitivePath = false;
      let requiredScopes = body.scopes ?? [];
      if (body.api !== undefined) {
        const api = (await ctx.store.apis.all()).find((a) => a.id === body.api || a.name === body.api);
        if (!api) throw new ControlError('VALIDATION_FAILED', 'the request names an unknown API', { api: `no API with id or name ${body.api}` });
        apiId = api.id;
        caseInsensitivePath = api.pathCase === 'insensitive';
        requiredScopes = [...requiredScopes, ...api.auth.scopes];
      }
      // The key's path limits are matched on the canonical path, as at the gateway (domain/canonical-path.ts).
      const path = body.path === undefined ? undefined : canonicalPath(body.path);
      if (path && !path.ok) throw new ControlError('VALIDATION_FAILED', 'the path is ambiguous', { path: path.reason });
      if (path && caseInsensitivePath && hasNonAscii(path.path)) throw new ControlError('VALIDATION_FAILED', 'the path is ambiguous', { path: 'the API matches paths without regard to case, for ASCII paths only' });
      const facts = { apiId, method: body.method, path: path?.path, caseInsensitivePath, ip: body.ip, requiredScopes };
      const verification = await ctx.verifier.verify(body.key, facts, body.consume);
      // The endpoint must not be a faster way to guess keys than the gateway: the caller's address pays.
      if (isFailedKeyCheck(verification.code)) countFailure();
      return verificationView(verification, ctx.clock());
    } }),
  route({ method: 'get', path: '/keys/{id}', tag: 'keys', permission: 'keys:read', summary: 'Get a key (never its secret)', status: 200,
    handle: async ({ ctx, params }) => keysService.view(ctx, await keysService.get(ctx, params.id!)) }),
  route({ method: 'patch', path: '/keys/{id}', tag: 'keys', permission: 'keys:write', summary: 'Change a key; enabled=false disables it', status: 200, body: s.keyPatchSchema,
    handle: async ({ ctx, actor, params, body }) => keysService.view(ctx, await keysService.update(ctx, actor, params.id!, body)) }),
  route({ method: 'post', path: '/keys/{id}/rotate', tag: 'keys', permission: 'keys:write', summary: 'Rotate a key with a grace period', status: 201, body: s.keyRotateSchema,
    handle: async ({ ctx, actor, params, body }) => {
      const { key, secret, previous } = await keysService.rotate(ctx, actor, params.id!, body.gracePeriodSeconds);
      return { ...(await keysService.view(ctx, key)), secret, previous: await keysService.view(ctx, previous) };
    } }),
  route({ method: 'post', path: '/keys/{id}/revoke', tag: 'keys', permission: 'keys:write', summary: 'Revoke a key at once', status: 200, body: s.keyRevokeSchema,
    handle: async ({ ctx, actor, params, body }) => keysService.view(ctx, await keysService.revoke(ctx, actor, params.id!, body.reason)) }),
  route({ method: 'delete', path: '/keys/{id}', tag: 'keys', permission: 'keys:write', summary: 'Delete a key and its usage', status: 204,
    handle: ({ ctx, actor, params }) => keysService.delete(ctx, actor, params.id!) }),
  route({ method: 'get', path: '/keys/{id}/usage', tag: 'keys', permission: 'keys:read', summary: 'Requests per day for a key', status: 200,
    handle: async ({ ctx, params }) => {
      const key = await keysService.get(ctx, params.id!);
      await ctx.usage.flush();
      return { keyId: key.id, days: await ctx.store.usage.requestsByDay(key.id) };
    } }),

  route({ method: 'get', path: '/audit', tag: 'audit', permission: 'audit:read', summary: 'The audit log, newest first', status: 200, query: s.auditQuerySchema,
    handle: async ({ ctx, query }) => {
      const page = await ctx.store.audit.list(query);
      return { items: page.items.map((e) => ({ ...e, at: new Date(e.at).toISOString() })), nextCursor: page.nextCursor };
    } }),
  ...REQUEST_LOG_ROUTES,
  ...IDENTITY_ROUTES,
];
