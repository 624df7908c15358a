import { z } from 'zod';
import { APP_EVENT_TYPES, EVENT_TYPES, type EventType } from '../events.ts';
import { patchSchemaOf } from './patch.ts';

/** The event types an endpoint subscribes to, each once, from `types`. */
const eventTypes = <T extends readonly [EventType, ...EventType[]]>(types: T) =>
  z
    .array(z.enum(types))
    .min(1)
    .max(types.length)
    .refine((chosen) => new Set(chosen).size === chosen.length, 'each event type once')
    .meta({ description: 'the event types sent to it' });

/** A webhook endpoint as the admin API creates it; the URL's destination is checked by the service (SSRF). */
export const webhookInputSchema = z.strictObject({
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .meta({ description: 'https (http only where webhooks.allowHttp is set); no user or password' }),
  events: eventTypes(EVENT_TYPES),
  description: z.string().trim().max(512).nullable().default(null),
  enabled: z.boolean().default(true),
});

/** A merge patch; `enabled: true` also clears a run of failures that disabled it. */
export const webhookPatchSchema = patchSchemaOf(webhookInputSchema).extend({
  disabledReason: z.string().trim().min(1).max(512).optional().meta({ description: 'why it is disabled, with enabled: false' }),
});

/** A developer's endpoint, made in the portal: scoped to their app, so only events about an app may be chosen. */
export const portalWebhookInputSchema = webhookInputSchema.extend({ events: eventTypes(APP_EVENT_TYPES) });
export const portalWebhookPatchSchema = patchSchemaOf(portalWebhookInputSchema);

export const webhookRotateSchema = z.strictObject({
  /** How long the old secret keeps signing beside the new one (Standard Webhooks: both signatures are sent). */
  overlapSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .optional(),
});

export const webhookReplaySchema = z.strictObject({
  since: z.iso.datetime({ offset: true }).meta({ description: 'events recorded at or after (RFC 3339)' }),
  until: z.iso.datetime({ offset: true }).optional().meta({ description: 'before (RFC 3339); default now' }),
});

export type WebhookInput = z.output<typeof webhookInputSchema>;
export type WebhookPatch = z.output<typeof webhookPatchSchema>;
