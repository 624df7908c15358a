import { z } from 'zod';
import { OAUTH_GRANT_TYPES } from '../../domain/entities.ts';
import { APP_EVENT_TYPES } from '../../domain/events.ts';
import { id, keyRevokeSchema, name } from '../../domain/inputs/resources.ts';
import * as res from '../admin/responses.ts';
import { pageQuerySchema } from '../admin/queries.ts';
import type { AdminRoute } from '../admin/route.ts';
import type { Actor, ControlContext } from '../context.ts';
import { keysService } from '../services/keys.ts';
import { portalService, settingsOf } from '../services/portal.ts';
import { usageService } from '../services/usage.ts';
import { appView } from '../services/apps.ts';
import type { SessionPrincipal } from './sessions.ts';

type AnySchema = z.ZodType;

/** One portal route, as data, like the admin API's: registered by portal-server.ts, described by the same OpenAPI generator. */
export interface PortalRoute<
  B extends AnySchema | undefined = AnySchema | undefined,
  Q extends AnySchema | undefined = AnySchema | undefined,
  R extends AnySchema | undefined = AnySchema | undefined,
> extends Omit<AdminRoute<B, Q, R>, 'permission' | 'handle' | 'rawBody'> {
  handle(request: {
    ctx: ControlContext;
    principal: SessionPrincipal;
    actor: Actor;
    /** The gateway's base URL, for the catalogue's addresses. */
    gatewayUrl: string;
    params: Record<string, string>;
    body: B extends AnySchema ? z.output<B> : undefined;
    query: Q extends AnySchema ? z.output<Q> : undefined;
  }): Promise<R extends AnySchema ? z.input<R> | Response : void>;
}

export const route = <B extends AnySchema | undefined = undefined, Q extends AnySchema | undefined = undefined, R extends AnySchema | undefined = undefined>(
  definition: PortalRoute<B, Q, R>,
): PortalRoute => definition as unknown as PortalRoute;

const catalogueEntry = res.named(
  'CatalogueApi',
  'An API a developer may use: where to call it, and whether its reference is attached',
  z.strictObject({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    listenPath: z.string(),
    gatewayUrl: z.string(),
    auth: z.string(),
    scopes: z.array(z.string()),
    hasReference: z.boolean(),
  }),
);

const portalKey = res.named(
  'PortalKey',
  'A key of my app, and whether it may be rotated now (the rule POST /keys/{id}/rotate applies, with a grace period)',
  res.keyResponse.extend({
    rotation: z.discriminatedUnion('allowed', [
      z.strictObject({ allowed: z.literal(true) }),
      z.strictObject({
        allowed: z.literal(false),
        code: res.about(
          'CONFLICT: already rotated (rotate its successor, keyId) or no longer rotatable; ROTATION_IN_PROGRESS: an earlier key (keyId) is in its grace until `until`',
          z.enum(['CONFLICT', 'ROTATION_IN_PROGRESS']),
        ),
        reason: z.string(),
        keyId: z.string().nullable(),
        until: res.time.nullable(),
      }),
    ]),
  }),
);

const appInput = z.strictObject({ name, description: z.string().trim().max(2000).nullable().default(null) });
const appPatch = z.strictObject({ name, description: z.string().trim().max(2000).nullable() }).partial();
const keyInput = z.strictObject({
  name: z.string().trim().max(128).default(''),
  /** Listed APIs the key may call; all listed APIs when left out. */
  apiIds: z.array(id('api')).min(1).max(64).optional(),
});
const rotateInput = z.strictObject({
  /** How long the old key keeps working (at most 7 days); 0 ends it at once. */
  gracePeriodSeconds: z.number().int().min(0).max(604_800).default(86_400),
});

const portalSettings = res.named(
  'PortalSettings',
  'What the operator allows developers: how many of each thing, the grant types and scopes of their OAuth clients, the events their webhooks may take',
  z.strictObject({
    maxAppsPerDeveloper: z.number().int(),
    maxKeysPerApp: z.number().int(),
    maxClientsPerApp: z.number().int(),
    clientGrantTypes: z.array(z.enum(OAUTH_GRANT_TYPES)),
    clientScopes: z.array(z.string()),
    /** False without a master key or with webhooks.enabled off: the webhook routes answer 503 WEBHOOKS_DISABLED. */
    webhooksEnabled: z.boolean(),
    maxWebhooksPerApp: z.number().int(),
    webhookEvents: z.array(z.enum(APP_EVENT_TYPES)),
  }),
);

/** The developer portal's API, under /portal/v1: a developer's own apps and keys, and the catalogue. */
export const PORTAL_ROUTES: readonly PortalRoute[] = [
  route({
    method: 'get',
    path: '/settings',
    tag: 'catalogue',
    summary: 'What the operator allows developers here',
    status: 200,
    response: portalSettings,
    handle: async ({ ctx }) => {
      const s = settingsOf(ctx);
      return {
        maxAppsPerDeveloper: s.maxAppsPerDeveloper,
        maxKeysPerApp: s.maxKeysPerApp,
        maxClientsPerApp: s.maxClientsPerApp,
        clientGrantTypes: [...s.clientGrantTypes],
        clientScopes: [...s.clientScopes],
        webhooksEnabled: ctx.webhooks !== null,
        maxWebhooksPerApp: s.maxWebhooksPerApp,
        webhookEvents: [...APP_EVENT_TYPES],
      };
    },
  }),
  route({
    method: 'get',
    path: '/apis',
    tag: 'catalogue',
    summary: 'The catalogue: APIs listed for developers',
    status: 200,
    response: z.strictObject({ items: z.array(catalogueEntry) }),
    handle: ({ ctx, gatewayUrl }) => portalService.catalogue(ctx, gatewayUrl),
  }),
  route({
    method: 'get',
    path: '/apis/{id}/openapi',
    tag: 'catalogue',
    summary: 'A listed API’s OpenAPI document (its reference)',
    status: 200,
    response: z.looseObject({ openapi: z.string() }),
    handle: async ({ ctx, params }) => JSON.parse(await portalService.reference(ctx, params.id!)) as { openapi: string },
  }),
  route({
    method: 'get',
    path: '/apps',
    tag: 'apps',
    summary: 'My apps',
    status: 200,
    query: pageQuerySchema,
    response: res.pageOf(res.appResponse),
    handle: ({ ctx, principal, query }) => portalService.apps(ctx, principal.user, query),
  }),
  route({
    method: 'post',
    path: '/apps',
    tag: 'apps',
    summary: 'Create an app (within the operator’s limit of apps per developer)',
    status: 201,
    body: appInput,
    response: res.appResponse,
    handle: async ({ ctx, actor, principal, body }) => appView(await portalService.createApp(ctx, actor, principal.user, body)),
  }),
  route({
    method: 'get',
    path: '/apps/{id}',
    tag: 'apps',
    summary: 'One of my apps',
    status: 200,
    response: res.appResponse,
    handle: async ({ ctx, principal, params }) => appView(await portalService.ownApp(ctx, principal.user, params.id!)),
  }),
  route({
    method: 'patch',
    path: '/apps/{id}',
    tag: 'apps',
    summary: 'Rename or describe one of my apps',
    status: 200,
    body: appPatch,
    response: res.appResponse,
    handle: async ({ ctx, actor, principal, params, body }) => appView(await portalService.updateApp(ctx, actor, principal.user, params.id!, body)),
  }),
  route({
    method: 'delete',
    path: '/apps/{id}',
    tag: 'apps',
    summary: 'Delete one of my apps with its revoked and expired keys (none may be in use)',
    status: 204,
    handle: ({ ctx, actor, principal, params }) => portalService.deleteApp(ctx, actor, principal.user, params.id!),
  }),
  route({
    method: 'get',
    path: '/apps/{id}/keys',
    tag: 'keys',
    summary: 'My app’s keys (never their secrets)',
    status: 200,
    query: pageQuerySchema,
    response: res.pageOf(portalKey),
    handle: ({ ctx, principal, params, query }) => portalService.keys(ctx, principal.user, params.id!, query),
  }),
  route({
    method: 'post',
    path: '/apps/{id}/keys',
    tag: 'keys',
    summary: 'Issue a key for my app (the secret is in this answer only), within the operator’s limits and policy',
    status: 201,
    body: keyInput,
    response: res.newKeyResponse,
    handle: ({ ctx, actor, principal, params, body }) => portalService.createKey(ctx, actor, principal.user, params.id!, body),
  }),
  route({
    method: 'post',
    path: '/keys/{id}/rotate',
    tag: 'keys',
    summary: 'Rotate my key: a new secret (shown once), the old one working for the grace period',
    status: 201,
    body: rotateInput,
    response: res.rotatedKeyResponse,
    handle: async ({ ctx, actor, principal, params, body }) => {
      await portalService.ownKey(ctx, principal.user, params.id!);
      const { key, secret, previous } = await keysService.rotate(ctx, actor, params.id!, body.gracePeriodSeconds);
      return { ...(await keysService.view(ctx, key)), secret, previous: await keysService.view(ctx, previous) };
    },
  }),
  route({
    method: 'post',
    path: '/keys/{id}/revoke',
    tag: 'keys',
    summary: 'Revoke my key at once',
    status: 200,
    body: keyRevokeSchema,
    response: res.keyResponse,
    handle: async ({ ctx, actor, principal, params, body }) => {
      await portalService.ownKey(ctx, principal.user, params.id!);
      return keysService.view(ctx, await keysService.revoke(ctx, actor, params.id!, body.reason));
    },
  }),
  route({
    method: 'get',
    path: '/keys/{id}',
    tag: 'keys',
    summary: 'My key, with its limits, quota use and last use',
    status: 200,
    response: res.keyResponse,
    handle: async ({ ctx, principal, params }) => keysService.view(ctx, await portalService.ownKey(ctx, principal.user, params.id!)),
  }),
  route({
    method: 'get',
    path: '/keys/{id}/usage',
    tag: 'keys',
    summary: 'Requests per day for my key (its quota and limits are on the key)',
    status: 200,
    response: res.keyUsageResponse,
    handle: async ({ ctx, principal, params }) => {
      await portalService.ownKey(ctx, principal.user, params.id!);
      return usageService.requestsByDay(ctx, params.id!);
    },
  }),
];
