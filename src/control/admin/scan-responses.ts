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
  'A key after an exposure report: firstExposure is true when this report set its exposedAt',
  z.strictObject({ key: keyResponse, firstExposure: z.boolean() }),
);
