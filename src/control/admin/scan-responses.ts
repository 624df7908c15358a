import { z } from 'zod';
import { KEY_PREFIXES, type KeyKind } from '../../domain/key-format.ts';
import { keyResponse, named, time } from './responses.ts';

const kinds = Object.keys(KEY_PREFIXES) as [KeyKind, ...KeyKind[]];

export const secretLookupResponse = named(
  'SecretLookup',
  'For each secret sent, in order: its kind and non-secret start, and the key it belongs to (never the secret)',
  z.strictObject({
    items: z.array(
      z.strictObject({
        start: z.string().nullable(),
        kind: z.enum(kinds).nullable(),
        lookedUp: z.boolean(),
        found: z.boolean(),
        keyId: z.string().optional(),
        appId: z.string().optional(),
        status: z.enum(['active', 'disabled', 'expired', 'revoked']).optional(),
        exposedAt: time.nullable().optional(),
      }),
    ),
  }),
);

export const keyExposureResponse = named(
  'KeyExposure',
  'A key after an exposure report: firstExposure is true when this report set its exposedAt; step is what the exposure policy (or the action asked for) did; replacementId names the key issued by revoke-and-replace (its secret is not in this answer)',
  z.strictObject({
    key: keyResponse,
    firstExposure: z.boolean(),
    step: z.strictObject({ action: z.enum(['flag', 'disable', 'revoke-and-replace', 'revoke']), why: z.string() }),
    replacementId: z.string().nullable(),
  }),
);
