import type { AuditInput } from '../../domain/entities.ts';
import { newId } from '../../domain/ids.ts';
import type { WebhookInput, WebhookPatch } from '../../domain/inputs/webhooks.ts';
import {
  disabledByOf,
  generateWebhookSecret,
  isDelivered,
  signingSecrets,
  webhookBody,
  type DeliveryStatus,
  type SealedWebhookSecret,
  type WebhookEndpoint,
} from '../../domain/webhooks.ts';
import type { Page, PageQuery } from '../../store/port.ts';
import { ControlError, iso, notFound, requireFound, TEST_SENDS_PER_MINUTE, type Actor, type ControlContext, type WebhooksContext } from '../context.ts';
import { auditedChange } from '../services/audit-change.ts';
import { attemptView, deliveryView, endpointAuditView, secretAad } from './views.ts';

/** The most events one range replay re-sends: a larger range is refused, to be split. */
export const REPLAY_LIMIT = 10_000;

export function requireWebhooks(ctx: ControlContext): WebhooksContext {
  if (!ctx.webhooks)
    throw new ControlError('WEBHOOKS_DISABLED', 'webhooks need a master key to seal their secrets (GATEHOUSE_MASTER_KEY_FILE), and webhooks.enabled');
  return ctx.webhooks;
}

const audit = (w: WebhooksContext, actor: Actor, action: string, before: WebhookEndpoint | null, after: WebhookEndpoint | null): AuditInput => ({
  ...actor,
  action: `webhook.${action}`,
  targetType: 'webhook',
  targetId: (after ?? before)!.id,
  // The URL as its origin and fingerprint: a path or query often is the receiver's credential.
  ...auditedChange((e: WebhookEndpoint) => endpointAuditView(e, w.fingerprintUrl), before, after),
});

function sealNew(w: WebhooksContext, endpointId: string, now: number): { sealed: SealedWebhookSecret; secret: string } {
  const secret = generateWebhookSecret();
  const id = newId('webhookSecret', now);
  return { secret, sealed: { id, sealed: w.box.seal(secret, secretAad(endpointId, id)), createdAt: now, expiresAt: null } };
}

async function getEndpoint(ctx: ControlContext, id: string): Promise<WebhookEndpoint> {
  requireWebhooks(ctx);
  return requireFound(await ctx.store.webhooks.get(id), 'webhook', id);
}

/**
 * Writes a change made from `existing`, only over the endpoint as read (WebhookRepo.update's
 * `readAt`): refused, it is gone (404) or was changed meanwhile (409), by another edit or by the
 * delivery task disabling it, whose disable an edit from the older copy must not undo.
 */
async function writeChange(ctx: ControlContext, existing: WebhookEndpoint, endpoint: WebhookEndpoint, entry: AuditInput, resetFailures = false): Promise<void> {
  if (await ctx.store.webhooks.update(endpoint, entry, { readAt: existing.updatedAt, resetFailures })) return;
  if (!(await ctx.store.webhooks.get(existing.id))) throw notFound('webhook', existing.id);
  throw new ControlError('CONFLICT', 'the webhook endpoint was changed while this change was being made; nothing was changed: read it again');
}

/** Now, and always after the endpoint as read: no two stored versions share the `updatedAt` the store compares. */
const changedAt = (now: number, existing: WebhookEndpoint): number => Math.max(now, existing.updatedAt + 1);

/** Webhook endpoints: the admin API's and the CLI's operations on them (docs/webhooks.md). */
export const webhookLimitReached = (max: number): ControlError =>
  new ControlError('LIMIT_REACHED', `an app may have at most ${max} webhook endpoints: delete one first`);

export const webhooksService = {
  get: getEndpoint,

  async list(ctx: ControlContext, query: PageQuery): Promise<Page<WebhookEndpoint>> {
    requireWebhooks(ctx);
    return ctx.store.webhooks.list(query);
  },

  /** The secret is returned here only. `appId` scopes it to an app's events (a developer's endpoint, made in the portal). */
  /** With `maxPerApp` (the portal's `maxWebhooksPerApp`): refused (409 LIMIT_REACHED) when the app has that many, counted by the store with the insert. */
  async create(
    ctx: ControlContext,
    actor: Actor,
    input: WebhookInput & { appId?: string },
    maxPerApp?: number,
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const w = requireWebhooks(ctx);
    await w.checkUrl(input.url, input);
    const now = ctx.clock();
    const id = newId('webhook', now);
    const { sealed, secret } = sealNew(w, id, now);
    const endpoint: WebhookEndpoint = {
      id,
      url: input.url,
      events: input.events,
      description: input.description,
      enabled: input.enabled,
      disabledReason: input.enabled ? null : 'created disabled',
      disabledBy: input.enabled ? null : input.appId ? 'developer' : 'operator',
      consecutiveFailures: 0,
      secrets: [sealed],
      ...(input.appId ? { appId: input.appId } : {}),
      createdAt: now,
      updatedAt: now,
    };
    if (maxPerApp === undefined) await ctx.store.webhooks.create(endpoint, audit(w, actor, 'created', null, endpoint));
    else if (!(await ctx.store.webhooks.createWithin(endpoint, audit(w, actor, 'created', null, endpoint), maxPerApp))) throw webhookLimitReached(maxPerApp);
    return { endpoint, secret };
  },

  /**
   * A merge patch, by an operator or the app's developer (`by`). Enabling clears the failure run that
   * disabled it; a developer cannot enable an endpoint an operator disabled (409); a changed URL is
   * checked again.
   */
  async update(ctx: ControlContext, actor: Actor, id: string, patch: WebhookPatch, by: 'operator' | 'developer' = 'operator'): Promise<WebhookEndpoint> {
    const w = requireWebhooks(ctx);
    const existing = await getEndpoint(ctx, id);
    if (by === 'developer' && patch.enabled !== undefined && patch.enabled !== false && disabledByOf(existing) === 'operator')
      throw new ControlError('CONFLICT', 'an operator disabled this endpoint: ask them to enable it again');
    if (patch.url !== undefined && patch.url !== existing.url) await w.checkUrl(patch.url, existing);
    const now = ctx.clock();
    // null removes the member: enabled, its default.
    const enabled = patch.enabled === undefined ? existing.enabled : (patch.enabled ?? true);
    const enabling = enabled && !existing.enabled;
    const endpoint: WebhookEndpoint = {
      ...existing,
      url: patch.url ?? existing.url,
      events: patch.events ?? existing.events,
      description: patch.description === undefined ? existing.description : patch.description,
      enabled,
      disabledReason: enabled ? null : (patch.disabledReason ?? (existing.enabled ? 'disabled by an operator' : existing.disabledReason)),
      // An operator's disable is theirs also of an endpoint already paused or stopped by failures.
      disabledBy: enabled ? null : existing.enabled || (by === 'operator' && patch.enabled === false) ? by : disabledByOf(existing),
      // The store keeps the run the delivery task counts meanwhile; only enabling resets it.
      consecutiveFailures: enabling ? 0 : existing.consecutiveFailures,
      secrets: signingSecrets(existing.secrets, now),
      updatedAt: changedAt(now, existing),
    };
    const action = enabling ? 'enabled' : !enabled && existing.enabled ? 'disabled' : 'updated';
    await writeChange(ctx, existing, endpoint, audit(w, actor, action, existing, endpoint), enabling);
    if (enabling) w.wake();
    return endpoint;
  },

  async delete(ctx: ControlContext, actor: Actor, id: string): Promise<void> {
    const w = requireWebhooks(ctx);
    await getEndpoint(ctx, id);
    if (!(await ctx.store.webhooks.delete(id, (deleted) => audit(w, actor, 'deleted', deleted, null)))) throw notFound('webhook', id);
  },

  /**
   * A new secret, shown once. The old one keeps signing beside it for the overlap (each request
   * carries both signatures, Standard Webhooks "Signature scheme"), so receivers can switch without
   * missing an event; secrets whose overlap has ended are dropped.
   */
  async rotateSecret(ctx: ControlContext, actor: Actor, id: string, overlapSeconds?: number): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const w = requireWebhooks(ctx);
    const existing = await getEndpoint(ctx, id);
    const now = ctx.clock();
    const overlapEnd = now + (overlapSeconds === undefined ? w.secretOverlapMs : overlapSeconds * 1000);
    const { sealed, secret } = sealNew(w, id, now);
    const kept = signingSecrets(existing.secrets, now).map((s) => ({ ...s, expiresAt: s.expiresAt === null ? overlapEnd : Math.min(s.expiresAt, overlapEnd) }));
    const endpoint: WebhookEndpoint = { ...existing, secrets: [sealed, ...kept.filter((s) => s.expiresAt > now)], updatedAt: changedAt(now, existing) };
    await writeChange(ctx, existing, endpoint, audit(w, actor, 'secret_rotated', existing, endpoint));
    return { endpoint, secret };
  },

  async deliveries(ctx: ControlContext, id: string, query: PageQuery & { status?: DeliveryStatus | undefined; eventId?: string | undefined }) {
    await getEndpoint(ctx, id);
    const page = await ctx.store.webhooks.deliveries({ ...query, endpointId: id });
    return { items: page.items.map(deliveryView), nextCursor: page.nextCursor };
  },

  async delivery(ctx: ControlContext, id: string, deliveryId: string) {
    await getEndpoint(ctx, id);
    const delivery = await ctx.store.webhooks.getDelivery(deliveryId);
    if (!delivery || delivery.endpointId !== id) throw notFound('delivery', deliveryId);
    const [attempts, event] = await Promise.all([ctx.store.webhooks.attempts(deliveryId), ctx.store.events.get(delivery.eventId)]);
    return {
      ...deliveryView(delivery),
      attemptLog: attempts.map(attemptView),
      payload: event && (JSON.parse(webhookBody(event)) as { type: typeof event.type; timestamp: string; data: Record<string, unknown> }),
    };
  },

  /** The delivery is sent again, in a new round of attempts, with the same `webhook-id`. */
  async replayDelivery(ctx: ControlContext, actor: Actor, id: string, deliveryId: string) {
    const w = requireWebhooks(ctx);
    const endpoint = await getEndpoint(ctx, id);
    const delivery = await ctx.store.webhooks.getDelivery(deliveryId);
    if (!delivery || delivery.endpointId !== id) throw notFound('delivery', deliveryId);
    const now = ctx.clock();
    const entry = { ...audit(w, actor, 'replayed', endpoint, endpoint), after: { deliveryId, eventId: delivery.eventId } };
    if (!(await ctx.store.webhooks.replay(deliveryId, now, entry))) throw notFound('delivery', deliveryId);
    w.wake();
    return deliveryView((await ctx.store.webhooks.getDelivery(deliveryId))!);
  },

  /** Every event of the endpoint's types recorded in [since, until) is sent to it again (or for the first time). */
  async replayRange(ctx: ControlContext, actor: Actor, id: string, range: { since: string; until?: string | undefined }) {
    const w = requireWebhooks(ctx);
    const endpoint = await getEndpoint(ctx, id);
    const now = ctx.clock();
    const from = Date.parse(range.since);
    const until = range.until === undefined ? now + 1 : Date.parse(range.until);
    if (!(from < until)) throw new ControlError('VALIDATION_FAILED', 'since must be before until', { since: 'before until' });
    const entry = { ...audit(w, actor, 'replayed', endpoint, endpoint), after: { since: iso(from), until: iso(until) } };
    const replayed = await ctx.store.webhooks.replayRange(endpoint, from, until, now, entry, REPLAY_LIMIT);
    if (replayed > REPLAY_LIMIT)
      throw new ControlError('VALIDATION_FAILED', `more than ${REPLAY_LIMIT} events in the range: replay it in parts`, { since: 'a shorter range' });
    w.wake();
    return { endpointId: id, replayed };
  },

  /** Sends a signed `webhook.test` event now (audited: it makes a request to the endpoint); the answer says how it went. */
  async test(ctx: ControlContext, actor: Actor, id: string) {
    const w = requireWebhooks(ctx);
    const endpoint = await getEndpoint(ctx, id);
    const now = ctx.clock();
    const wait = await w.testSends.blockedFor(endpoint.id, now);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new ControlError('RATE_LIMITED', `at most ${TEST_SENDS_PER_MINUTE} test sends a minute to one endpoint: try again in ${seconds} s`, undefined, {
        retryAfterSeconds: seconds,
      });
    }
    await w.testSends.recordFailure(endpoint.id, now);
    const result = await w.ping(endpoint);
    const { statusCode, error, durationMs, responseExcerpt, eventId } = result;
    const delivered = statusCode !== null && isDelivered(statusCode);
    await ctx.store.audit.append({ ...audit(w, actor, 'tested', endpoint, endpoint), after: { eventId, delivered, statusCode, error } });
    return { eventId, delivered, statusCode, error, durationMs, responseExcerpt };
  },
};
