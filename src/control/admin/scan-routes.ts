import { z } from 'zod';
import { EXPOSURE_ACTIONS } from '../../domain/exposure-policy.ts';
import { LOOKUP_MAX_SECRETS, lookupSecrets, reportExposure } from '../services/secret-lookup.ts';
import { route, type AdminRoute } from './route.ts';
import { keyExposureResponse, secretLookupResponse } from './scan-responses.ts';

const lookupBody = z.strictObject({
  secrets: z
    .array(z.string().min(1).max(512))
    .min(1)
    .max(LOOKUP_MAX_SECRETS)
    .meta({ description: `secrets found by a scan, at most ${LOOKUP_MAX_SECRETS}; in the body, never the URL` }),
});

const exposureBody = z.strictObject({
  source: z.enum(['operator', 'scanner']),
  where: z
    .string()
    .trim()
    .min(1)
    .max(512)
    .nullable()
    .default(null)
    .meta({ description: 'where it was seen: a file and line and commit, a URL, a ticket; never the secret' }),
  since: z.iso
    .datetime({ offset: true })
    .nullable()
    .default(null)
    .meta({ description: 'when the secret is known to have been out since (the commit that added it), RFC 3339' }),
  action: z
    .enum(EXPOSURE_ACTIONS)
    .nullable()
    .default(null)
    .meta({ description: "an action instead of the exposure policy's (flag, disable, revoke-and-replace); null: the policy decides" }),
});

/** The leaked-key scanner's routes (docs/scanning.md): which found secrets are ours, and reporting one exposed. */
export const SCAN_ROUTES: readonly AdminRoute[] = [
  route({
    method: 'post',
    path: '/keys/lookup',
    tag: 'keys',
    permission: 'keys:read',
    summary: 'Look secrets up: which key each belongs to, and its status (the secrets go in the body; none is echoed)',
    description:
      'For `gatehouse scan`: API, publishable and admin keys and OAuth client secrets are looked up as the gateway and the token endpoint would find them (`keyId` is the admin key or client id for those). A malformed secret (bad checksum) is not looked up (`lookedUp: false`). Unknown secrets are not counted as failed attempts: guessing a well-formed one is out of reach (143 random bits).',
    status: 200,
    body: lookupBody,
    response: secretLookupResponse,
    handle: async ({ ctx, body }) => ({ items: await lookupSecrets(ctx, body.secrets) }),
  }),
  route({
    method: 'post',
    path: '/keys/{id}/exposed',
    tag: 'keys',
    permission: 'keys:write',
    summary:
      'Report a key exposed (by an operator or a scanner): recorded, announced as key.exposed, and the exposure policy (or the action asked for) applied',
    status: 200,
    body: exposureBody,
    response: keyExposureResponse,
    handle: ({ ctx, actor, params, body }) => reportExposure(ctx, actor, params.id!, body),
  }),
];
