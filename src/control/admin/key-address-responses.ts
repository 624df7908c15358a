import { z } from 'zod';
import { keyResponse, named, time } from './responses.ts';

/** Uses from one client address: first and last seen, and how many requests. */
const addressUse = z.strictObject({ address: z.string(), firstSeenAt: time, lastSeenAt: time, requests: z.number().int() });

export const keyAddressesResponse = named(
  'KeyAddresses',
  'Where a key was used from: per client address, first and last seen and requests, last seen newest first',
  z.strictObject({
    keyId: z.string(),
    items: z.array(addressUse),
    nextCursor: z.string().nullable(),
    /** Uses from addresses past the number kept per key (keyAddresses.perKey): counted, not named. */
    otherAddresses: addressUse.omit({ address: true }).nullable(),
  }),
);

export const keyDrainResponse = named(
  'KeyDrain',
  'A rotated key inside its grace period: whether it is still used since the rotation, so it can be retired early',
  z.strictObject({
    /** The key that works in its place: its successor, or the newest key of the line when that was rotated in turn; null when none works (revoked, expired or deleted). */
    successorId: z.string().nullable(),
    rotatedAt: time,
    graceEndsAt: time,
    /** Client addresses that used the key since the rotation. */
    addresses: z.number().int(),
    /** Some uses since the rotation came from addresses past the number kept per key: more addresses than `addresses`. */
    otherAddresses: z.boolean(),
    lastUsedAt: time.nullable(),
    secondsSinceLastUse: z.number().int().nullable(),
    /** No use since the rotation. */
    quiet: z.boolean(),
    /** Quiet, and another key of the line works (`successorId`): the key can be retired (revoked) now. */
    retirable: z.boolean(),
  }),
);

export const keyDetailResponse = named(
  'KeyDetail',
  'A key as `GET /keys/{id}` shows it: the key, and for a rotated key inside its grace period the drain view',
  keyResponse.extend({ drain: keyDrainResponse.nullable() }),
);

export type KeyAddressesView = z.input<typeof keyAddressesResponse>;
export type KeyDetailView = z.input<typeof keyDetailResponse>;
