import { portalWebhookInputSchema, portalWebhookPatchSchema, webhookRotateSchema } from '../../domain/inputs/webhooks.ts';
import { pageOf } from '../admin/responses.ts';
import { deliveryQuerySchema } from '../admin/webhook-routes.ts';
import * as res from '../admin/webhook-responses.ts';
import { portalWebhooksService } from '../services/portal-webhooks.ts';
import { webhooksService } from '../webhooks/service.ts';
import { endpointView } from '../webhooks/views.ts';
import { route, type PortalRoute } from './portal-routes.ts';

/**
 * Webhook endpoints of a developer's own apps (/portal/v1): each takes only events about its app. The
 * ownership check comes first on every route; then the admin API's service does the rest.
 */
export const PORTAL_WEBHOOK_ROUTES: readonly PortalRoute[] = [
  route({
    method: 'get',
    path: '/apps/{id}/webhooks',
    tag: 'webhooks',
    summary: 'My app’s webhook endpoints (never their secrets)',
    status: 200,
    response: pageOf(res.webhookResponse),
    handle: ({ ctx, principal, params }) => portalWebhooksService.list(ctx, principal.user, params.id!),
  }),
  route({
    method: 'post',
    path: '/apps/{id}/webhooks',
    tag: 'webhooks',
    summary: 'Add a webhook endpoint for my app’s events (its signing secret is in this answer only)',
    description:
      'The URL must be https and must not resolve to a loopback, private, link-local or other non-public address; the address is checked again at every connection. Only events about this app’s keys and clients are sent to it.',
    status: 201,
    body: portalWebhookInputSchema,
    response: res.newWebhookResponse,
    handle: ({ ctx, actor, principal, params, body }) => portalWebhooksService.create(ctx, actor, principal.user, params.id!, body),
  }),
  route({
    method: 'get',
    path: '/webhooks/{id}',
    tag: 'webhooks',
    summary: 'One of my webhook endpoints',
    status: 200,
    response: res.webhookResponse,
    handle: async ({ ctx, principal, params }) => endpointView(await portalWebhooksService.own(ctx, principal.user, params.id!)),
  }),
  route({
    method: 'patch',
    path: '/webhooks/{id}',
    tag: 'webhooks',
    summary: 'Change my webhook endpoint; enabled=true re-enables one disabled after failures',
    status: 200,
    body: portalWebhookPatchSchema,
    response: res.webhookResponse,
    handle: async ({ ctx, actor, principal, params, body }) => {
      await portalWebhooksService.own(ctx, principal.user, params.id!);
      // A developer pausing their endpoint says so, rather than the service's "disabled by an operator".
      const patch = body.enabled === false ? { ...body, disabledReason: 'paused by the app’s developer' } : body;
      return endpointView(await webhooksService.update(ctx, actor, params.id!, patch, 'developer'));
    },
  }),
  route({
    method: 'delete',
    path: '/webhooks/{id}',
    tag: 'webhooks',
    summary: 'Delete my webhook endpoint and its delivery log',
    status: 204,
    handle: async ({ ctx, actor, principal, params }) => {
      await portalWebhooksService.own(ctx, principal.user, params.id!);
      await webhooksService.delete(ctx, actor, params.id!);
    },
  }),
  route({
    method: 'post',
    path: '/webhooks/{id}/rotate-secret',
    tag: 'webhooks',
    summary: 'Rotate my endpoint’s signing secret (shown once); the old one keeps signing beside it for the overlap',
    status: 201,
    body: webhookRotateSchema,
    response: res.newWebhookResponse,
    handle: async ({ ctx, actor, principal, params, body }) => {
      await portalWebhooksService.own(ctx, principal.user, params.id!);
      const { endpoint, secret } = await webhooksService.rotateSecret(ctx, actor, params.id!, body.overlapSeconds);
      return { ...endpointView(endpoint), secret };
    },
  }),
  route({
    method: 'get',
    path: '/webhooks/{id}/deliveries',
    tag: 'webhooks',
    summary: 'The delivery log of my endpoint, newest first',
    status: 200,
    query: deliveryQuerySchema,
    response: pageOf(res.webhookDeliveryResponse),
    handle: async ({ ctx, principal, params, query }) => {
      await portalWebhooksService.own(ctx, principal.user, params.id!);
      return webhooksService.deliveries(ctx, params.id!, query);
    },
  }),
  route({
    method: 'post',
    path: '/webhooks/{id}/test',
    tag: 'webhooks',
    summary: 'Send a signed test event (webhook.test) to my endpoint now and report the answer',
    status: 200,
    response: res.webhookTestResponse,
    handle: async ({ ctx, actor, principal, params }) => {
      await portalWebhooksService.own(ctx, principal.user, params.id!);
      return webhooksService.test(ctx, actor, params.id!);
    },
  }),
];
