import { z } from 'zod';
import { EVENT_TYPES } from '../../domain/events.ts';
import { named, time } from './responses.ts';

export const webhookResponse = named(
  'Webhook',
  'A webhook endpoint: never its secrets, only their ids and when each stops signing',
  z.strictObject({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(EVENT_TYPES)),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    /** Failed attempts in a row; at webhooks.disableAfterFailures the endpoint is disabled. */
    consecutiveFailures: z.number().int(),
    /** Newest first; a rotated-out secret signs beside the new one until `expiresAt`. */
    secrets: z.array(z.strictObject({ id: z.string(), createdAt: time, expiresAt: time.nullable() })),
    /** The developer's app it is scoped to (made in the portal): it takes only events about that app. Null: every event of its types. */
    appId: z.string().nullable(),
    createdAt: time,
    updatedAt: time,
  }),
);

export const newWebhookResponse = named(
  'NewWebhookSecret',
  'An endpoint with its new signing secret (`whsec_...`): shown in this answer only',
  webhookResponse.extend({ secret: z.string() }),
);

export const webhookDeliveryResponse = named(
  'WebhookDelivery',
  'One event to one endpoint: pending (with the next attempt), delivered, or failed after the retry schedule',
  z.strictObject({
    id: z.string(),
    endpointId: z.string(),
    /** The Standard Webhooks `webhook-id`, the same on every attempt. */
    eventId: z.string(),
    eventType: z.enum(EVENT_TYPES),
    eventAt: time,
    status: z.enum(['pending', 'delivered', 'failed']),
    /** Attempts in the current round (a replay starts a new one). */
    attempts: z.number().int(),
    nextAttemptAt: time.nullable(),
    lastAttemptAt: time.nullable(),
    createdAt: time,
  }),
);

const attempt = z.strictObject({
  at: time,
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int(),
  responseExcerpt: z.string().nullable(),
});

export const webhookDeliveryDetailResponse = named(
  'WebhookDeliveryDetail',
  'A delivery with its attempts (oldest first) and the payload it sends (null once the event left the outbox)',
  webhookDeliveryResponse.extend({
    attemptLog: z.array(attempt),
    payload: z.strictObject({ type: z.enum(EVENT_TYPES), timestamp: time, data: z.record(z.string(), z.unknown()) }).nullable(),
  }),
);

export const webhookReplayResponse = z.strictObject({ endpointId: z.string(), replayed: z.number().int() });

export const webhookTestResponse = named(
  'WebhookTest',
  'How a signed test event (`webhook.test`) sent now went; not retried, not logged as a delivery',
  z.strictObject({ eventId: z.string(), delivered: z.boolean(), ...attempt.omit({ at: true }).shape }),
);

export type WebhookView = z.input<typeof webhookResponse>;
export type WebhookDeliveryView = z.input<typeof webhookDeliveryResponse>;
