import type { User } from '../../domain/entities.ts';
import type { WebhookInput } from '../../domain/inputs/webhooks.ts';
import type { WebhookEndpoint } from '../../domain/webhooks.ts';
import { notFound, type Actor, type ControlContext } from '../context.ts';
import { requireWebhooks, webhookLimitReached, webhooksService } from '../webhooks/service.ts';
import { endpointView } from '../webhooks/views.ts';
import { portalService, settingsOf } from './portal.ts';

/**
 * Webhook endpoints developers add for their own apps in the portal: made by the admin API's service
 * (the same SSRF check of the URL, sealed secret, audit), scoped to the app, so delivery sends each
 * only events about that app's keys and clients (domain/events.ts eventAppId); at most
 * `portal.maxWebhooksPerApp` per app. Another developer's endpoint is not found (404).
 */
export const portalWebhooksService = {
  async list(ctx: ControlContext, user: User, appId: string) {
    requireWebhooks(ctx);
    await portalService.ownApp(ctx, user, appId);
    const page = await ctx.store.webhooks.listByApp(appId, { limit: 100 });
    return { items: page.items.map(endpointView), nextCursor: page.nextCursor };
  },

  /** The endpoint, if it is scoped to one of this user's apps; else 404. */
  async own(ctx: ControlContext, user: User, id: string): Promise<WebhookEndpoint> {
    requireWebhooks(ctx);
    const endpoint = await ctx.store.webhooks.get(id);
    if (!endpoint || !(await portalService.ownsApp(ctx, user, endpoint.appId))) throw notFound('webhook', id);
    return endpoint;
  },

  /** The signing secret is in the answer only. */
  async create(ctx: ControlContext, actor: Actor, user: User, appId: string, input: WebhookInput) {
    requireWebhooks(ctx);
    await portalService.ownApp(ctx, user, appId);
    const { maxWebhooksPerApp } = settingsOf(ctx);
    // Asked here to answer before the URL's check; the store asks again as it inserts the endpoint, which holds when requests come together.
    if ((await ctx.store.webhooks.listByApp(appId, { limit: maxWebhooksPerApp })).items.length >= maxWebhooksPerApp)
      throw webhookLimitReached(maxWebhooksPerApp);
    const { endpoint, secret } = await webhooksService.create(ctx, actor, { ...input, appId }, maxWebhooksPerApp);
    return { ...endpointView(endpoint), secret };
  },
};
