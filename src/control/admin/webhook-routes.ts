import { z } from 'zod';
import { id } from '../../domain/inputs/resources.ts';
import { webhookInputSchema, webhookPatchSchema, webhookReplaySchema, webhookRotateSchema } from '../../domain/inputs/webhooks.ts';
import { endpointView } from '../webhooks/views.ts';
import { webhooksService } from '../webhooks/service.ts';
import { pageQuerySchema } from './queries.ts';
import { pageOf } from './responses.ts';
import { route, type AdminRoute } from './route.ts';
import * as res from './webhook-responses.ts';

export const deliveryQuerySchema = pageQuerySchema.extend({
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
  eventId: id('evt').optional(),
});

/** Webhook endpoints, their deliveries, replay and a test send (docs/webhooks.md). */
export const WEBHOOK_ROUTES: readonly AdminRoute[] = [
  route({
    method: 'get',
    path: '/webhooks',
    tag: 'webhooks',
    permission: 'webhooks:read',
    summary: 'List webhook endpoints',
    status: 200,
    query: pageQuerySchema,
    response: pageOf(res.webhookResponse),
    handle: async ({ ctx, query }) => {
      const page = await webhooksService.list(ctx, query);
      return { items: page.items.map(endpointView), nextCursor: page.nextCursor };
    },
  }),
  route({
    method: 'post',
    path: '/webhooks',
    tag: 'webhooks',
    permission: 'webhooks:write',
    summary: 'Add a webhook endpoint (its signing secret is in this answer only)',
    description:
      'The URL must be https and must not resolve to a loopback, private, link-local or other non-public address (webhooks.allowPrivateNetworks, webhooks.allowedNetworks and webhooks.allowHttp relax this); the address is checked again at every connection.',
    status: 201,
    body: webhookInputSchema,
    response: res.newWebhookResponse,
    handle: async ({ ctx, actor, body }) => {
      const { endpoint, secret } = await webhooksService.create(ctx, actor, body);
      return { ...endpointView(endpoint), secret };
    },
  }),
  route({
    method: 'get',
    path: '/webhooks/{id}',
    tag: 'webhooks',
    permission: 'webhooks:read',
    summary: 'Get a webhook endpoint (never its secrets)',
    status: 200,
    response: res.webhookResponse,
    handle: async ({ ctx, params }) => endpointView(await webhooksService.get(ctx, params.id!)),
  }),
  route({
    method: 'patch',
    path: '/webhooks/{id}',
    tag: 'webhooks',
    permission: 'webhooks:write',
    summary: 'Change a webhook endpoint; enabled=true re-enables one disabled after failures',
    status: 200,
    body: webhookPatchSchema,
    response: res.webhookResponse,
    handle: async ({ ctx, actor, params, body }) => endpointView(await webhooksService.update(ctx, actor, params.id!, body)),
  }),
  route({
    method: 'delete',
    path: '/webhooks/{id}',
    tag: 'webhooks',
    permission: 'webhooks:write',
    summary: 'Delete a webhook endpoint and its delivery log',
    status: 204,
    handle: ({ ctx, actor, params }) => webhooksService.delete(ctx, actor, params.id!),
  }),
  route({
    method: 'post',
    path: '/webhooks/{id}/rotate-secret',
    tag: 'webhooks',
    permission: 'webhooks:write',
    summary: 'Rotate the signing secret; the old one keeps signing beside it for the overlap',
    status: 201,
    body: webhookRotateSchema,
    response: res.newWebhookResponse,
    handle: async ({ ctx, actor, params, body }) => {
      const { endpoint, secret } = await webhooksService.rotateSecret(ctx, actor, params.id!, body.overlapSeconds);
      return { ...endpointView(endpoint), secret };
    },
  }),
  route({
    method: 'get',
    path: '/webhooks/{id}/deliveries',
    tag: 'webhooks',
    permission: 'webhooks:read',
    summary: 'The delivery log of an endpoint, newest first',
    status: 200,
    query: deliveryQuerySchema,
    response: pageOf(res.webhookDeliveryResponse),
    handle: ({ ctx, params, query }) => webhooksService.deliveries(ctx, params.id!, query),
  }),
  route({
    method: 'get',
    path: '/webhooks/{id}/deliveries/{deliveryId}',
    tag: 'webhooks',
    permission: 'webhooks:read',
    summary: 'A delivery, its attempts (status or error, duration, the start of the answer) and its payload',
    status: 200,
    response: res.webhookDeliveryDetailResponse,
    handle: ({ ctx, params }) => webhooksService.delivery(ctx, params.id!, params.deliveryId!),
  }),
  route({
    method: 'post',
    path: '/webhooks/{id}/deliveries/{deliveryId}/replay',
    tag: 'webhooks',
    permission: 'webhooks:write',
    summary: 'Send a delivery again (a new round of attempts, the same webhook-id)',
    status: 200,
    response: res.webhookDeliveryResponse,
    handle: ({ ctx, actor, params }) => webhooksService.replayDelivery(ctx, actor, params.id!, params.deliveryId!),
  }),
  route({
    method: 'post',
    path: '/webhooks/{id}/replay',
    tag: 'webhooks',
    permission: 'webhooks:write',
    summary: 'Send every event of the endpoint’s types recorded in a time range again',
    status: 200,
    body: webhookReplaySchema,
    response: res.webhookReplayResponse,
    handle: ({ ctx, actor, params, body }) => webhooksService.replayRange(ctx, actor, params.id!, body),
  }),
  route({
    method: 'post',
    path: '/webhooks/{id}/test',
    tag: 'webhooks',
    permission: 'webhooks:write',
    summary: 'Send a signed test event (webhook.test) now and report the answer',
    status: 200,
    response: res.webhookTestResponse,
    handle: ({ ctx, actor, params }) => webhooksService.test(ctx, actor, params.id!),
  }),
];
