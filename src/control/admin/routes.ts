import { ControlError } from '../context.ts';
import { apisService, apiView } from '../services/apis.ts';
import { appsService, appView } from '../services/apps.ts';
import { keysService } from '../services/keys.ts';
import { policiesService, policyView } from '../services/policies.ts';
import { verificationView } from './verification-view.ts';
import { route, type AdminRoute } from './route.ts';
import * as s from './schemas.ts';

const pageOf = async <T, V>(page: { items: T[]; nextCursor: string | null }, view: (item: T) => V | Promise<V>) => ({
  items: await Promise.all(page.items.map(view)),
  nextCursor: page.nextCursor,
});

/** The admin API, as a table: method, path, the one permission it needs, its schemas, its handler. */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  route({ method: 'get', path: '/apis', tag: 'apis', permission: 'apis:read', summary: 'List APIs', status: 200, query: s.pageQuerySchema,
    handle: async ({ ctx, query }) => pageOf(await apisService.list(ctx, query), apiView) }),
  route({ method: 'post', path: '/apis', tag: 'apis', permission: 'apis:write', summary: 'Publish an API', status: 201, body: s.apiInputSchema,
    handle: async ({ ctx, actor, body }) => apiView(await apisService.create(ctx, actor, body)) }),
  route({ method: 'get', path: '/apis/{id}', tag: 'apis', permission: 'apis:read', summary: 'Get an API', status: 200,
    handle: async ({ ctx, params }) => apiView(await apisService.get(ctx, params.id!)) }),
  route({ method: 'patch', path: '/apis/{id}', tag: 'apis', permission: 'apis:write', summary: 'Change an API', status: 200, body: s.apiPatchSchema,
    handle: async ({ ctx, actor, params, body }) => apiView(await apisService.update(ctx, actor, params.id!, body)) }),
  route({ method: 'delete', path: '/apis/{id}', tag: 'apis', permission: 'apis:write', summary: 'Delete an API', status: 204,
    handle: ({ ctx, actor, params }) => apisService.delete(ctx, actor, params.id!) }),

  route({ method: 'get', path: '/apps', tag: 'apps', permission: 'apps:read', summary: 'List apps', status: 200, query: s.pageQuerySchema,
    handle: async ({ ctx, query }) => pageOf(await appsService.list(ctx, query), appView) }),
  route({ method: 'post', path: '/apps', tag: 'apps', permission: 'apps:write', summary: 'Register an app', status: 201, body: s.appInputSchema,
    handle: async ({ ctx, actor, body }) => appView(await appsService.create(ctx, actor, body)) }),
  route({ method: 'get', path: '/apps/{id}', tag: 'apps', permission: 'apps:read', summary: 'Get an app', status: 200,
    handle: async ({ ctx, params }) => appView(await appsService.get(ctx, params.id!)) }),
  route({ method: 'patch', path: '/apps/{id}', tag: 'apps', permission: 'apps:write', summary: 'Change an app', status: 200, body: s.appPatchSchema,
    handle: async ({ ctx, actor, params, body }) => appView(await appsService.update(ctx, actor, params.id!, body)) }),
  route({ method: 'delete', path: '/apps/{id}', tag: 'apps', permission: 'apps:write', summary: 'Delete an app (it must have no keys)', status: 204,
    handle: ({ ctx, actor, params }) => appsService.delete(ctx, actor, params.id!) }),

  route({ method: 'get', path: '/policies', tag: 'policies', permission: 'policies:read', summary: 'List policies', status: 200, query: s.pageQuerySchema,
    handle: async ({ ctx, query }) => pageOf(await policiesService.list(ctx, query), policyView) }),
  route({ method: 'post', path: '/policies', tag: 'policies', permission: 'policies:write', summary: 'Create a policy', status: 201, body: s.policyInputSchema,
    handle: async ({ ctx, actor, body }) => policyView(await policiesService.create(ctx, actor, body)) }),
  route({ method: 'get', path: '/policies/{id}', tag: 'policies', permission: 'policies:read', summary: 'Get a policy', status: 200,
    handle: async ({ ctx, params }) => policyView(await policiesService.get(ctx, params.id!)) }),
  route({ method: 'patch', path: '/policies/{id}', tag: 'policies', permission: 'policies:write', summary: 'Change a policy (applies to its keys at once)', status: 200, body: s.policyPatchSchema,
    handle: async ({ ctx, actor, params, body }) => policyView(await policiesService.update(ctx, actor, params.id!, body)) }),
  route({ method: 'delete', path: '/policies/{id}', tag: 'policies', permission: 'policies:write', summary: 'Delete a policy (no key may use it)', status: 204,
    handle: ({ ctx, actor, params }) => policiesService.delete(ctx, actor, params.id!) }),

  route({ method: 'get', path: '/keys', tag: 'keys', permission: 'keys:read', summary: 'List keys', status: 200, query: s.keyListQuerySchema,
    handle: async ({ ctx, query }) => pageOf(await keysService.list(ctx, query), (k) => keysService.view(ctx, k)) }),
  route({ method: 'post', path: '/keys', tag: 'keys', permission: 'keys:write', summary: 'Issue a key (the secret is in this answer only)', status: 201, body: s.keyCreateSchema,
    handle: async ({ ctx, actor, body }) => {
      const { key, secret } = await keysService.create(ctx, actor, body);
      return { ...(await keysService.view(ctx, key)), secret };
    } }),
  route({ method: 'post', path: '/keys/verify', tag: 'keys', permission: 'keys:verify', summary: 'Verify a key for a service outside the gateway', status: 200, body: s.verifyRequestSchema,
    handle: async ({ ctx, body }) => {
      let apiId: string | undefined;
      let requiredScopes = body.scopes ?? [];
      if (body.api !== undefined) {
        const api = (await ctx.store.apis.all()).find((a) => a.id === body.api || a.name === body.api);
        if (!api) throw new ControlError('VALIDATION_FAILED', 'the request names an unknown API', { api: `no API with id or name ${body.api}` });
        apiId = api.id;
        requiredScopes = [...requiredScopes, ...api.auth.scopes];
      }
      const facts = { apiId, method: body.method, path: body.path, ip: body.ip, requiredScopes };
      return verificationView(await ctx.verifier.verify(body.key, facts), ctx.clock());
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
];

