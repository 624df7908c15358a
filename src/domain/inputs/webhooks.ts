import { z } from 'zod';
import { EVENT_TYPES } from '../events.ts';
import { patchSchemaOf } from './patch.ts';

/** A webhook endpoint as the admin API creates it; the URL's destination is checked by the service (SSRF). */
export const webhookInputSchema = z.strictObject({
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .meta({ description: 'https (http only where webhooks.allowHttp is set); no user or password' }),
  events: z
    .array(z.enum(EVENT_TYPES))
    .min(1)
    .max(EVENT_TYPES.length)
    .refine((types) => new Set(types).size === types.length, 'each event type once')
    .meta({ description: 'the event types sent to it' }),
  description: z.string().trim().max(512).nullable().default(null),
  enabled: z.boolean().default(true),
});

/** A merge patch; `enabled: true` also clears a run of failures that disabled it. */
export const webhookPatchSchema = patchSchemaOf(webhookInputSchema).extend({
  disabledReason: z.string().trim().min(1).max(512).optional().meta({ description: 'why it is disabled, with enabled: false' }),
});

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
