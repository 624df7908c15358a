import { z } from 'zod';
import { timeBound } from './request-log-query.ts';
import { about, keyResponse, named, newKeyResponse, time } from './responses.ts';

export const compromiseBodySchema = z.strictObject({
  reason: z.string().trim().min(1).max(512).meta({ description: 'Why: kept in the audit log and the key.compromised event' }),
});

export const compromiseResponse = named(
  'Compromise',
  'A key revoked as compromised, with every token exchanged from it, and its replacement (the secret is in this answer only)',
  z.strictObject({
    key: keyResponse,
    replacement: about('null when the key had been rotated and its successor still works: that successor replaces it', newKeyResponse.nullable()),
    successorId: about('the successor in use of a rotated key, which stands in its place (no replacement was issued); null otherwise', z.string().nullable()),
    successorWorks: about(
      'whether that successor works; false: it is disabled, so no key of the line works until it is enabled or replaced (the summary says how); null without one',
      z.boolean().nullable(),
    ),
    tokensRevoked: z.number().int(),
    revokedTokenIds: about('the `jti` of each exchanged token put on the revocation list', z.array(z.string())),
    summary: z.string(),
  }),
);

export const impactQuerySchema = z.strictObject({
  /** From (included) and to (excluded); default: from the first exposure (else the creation) to now. */
  since: timeBound.optional(),
  until: timeBound.optional(),
  /** markdown: the report as a document (also chosen by Accept: text/markdown). */
  format: z.enum(['json', 'markdown']).optional(),
});

const statusCounts = z.record(z.string(), z.number().int());

export const impactReportResponse = named(
  'ImpactReport',
  'What a credential did in a time window: requests by API, route and status, bytes returned, denials, client addresses, user agents, tokens, timeline',
  z.strictObject({
    subject: z.strictObject({ type: z.enum(['key', 'user', 'client']), id: z.string(), name: z.string().nullable() }),
    generatedAt: time,
    window: z.strictObject({ since: time, until: time }),
    milestones: z.strictObject({ createdAt: time.nullable(), exposedAt: time.nullable(), detectedAt: time.nullable(), containedAt: time.nullable() }),
    coverage: z.strictObject({
      requestLog: z.enum(['complete', 'partial', 'off']),
      requestLogFrom: time.nullable(),
      truncated: z.boolean(),
      notes: z.array(z.string()),
    }),
    totals: z.strictObject({
      requests: z.number().int(),
      forwarded: z.number().int(),
      denied: z.number().int(),
      bytesOut: z.number().int(),
      bytesOut2xx: z.number().int(),
      addresses: z.number().int(),
      newAddresses: z.number().int().nullable(),
      userAgents: z.number().int(),
      firstRequestAt: time.nullable(),
      lastRequestAt: time.nullable(),
    }),
    byApi: z.array(
      z.strictObject({
        api: z.string().nullable(),
        requests: z.number().int(),
        forwarded: z.number().int(),
        denied: z.number().int(),
        bytesOut: z.number().int(),
      }),
    ),
    byRoute: z.array(
      z.strictObject({
        api: z.string().nullable(),
        route: z.string().nullable(),
        requests: z.number().int(),
        bytesOut: z.number().int(),
        statuses: statusCounts,
      }),
    ),
    byStatus: z.array(z.strictObject({ status: z.number().int(), requests: z.number().int() })),
    denials: z.array(z.strictObject({ code: z.string(), requests: z.number().int() })),
    addresses: z.array(
      z.strictObject({
        address: z.string(),
        requests: z.number().int(),
        denied: z.number().int(),
        firstSeenAt: time,
        lastSeenAt: time,
        firstSeenEverAt: time.nullable(),
        newSinceExposure: z.boolean().nullable(),
      }),
    ),
    userAgents: z.array(z.strictObject({ userAgent: z.string().nullable(), requests: z.number().int(), firstSeenAt: time, lastSeenAt: time })),
    tokens: z
      .strictObject({
        exchanged: z.array(
          z.strictObject({
            jti: z.string(),
            clientId: z.string(),
            audience: z.string(),
            scope: z.string(),
            issuedAt: time,
            expiresAt: time,
            revokedAt: time.nullable(),
          }),
        ),
        requestsByClient: z.array(
          z.strictObject({
            clientId: z.string(),
            requests: z.number().int(),
            denied: z.number().int(),
            bytesOut: z.number().int(),
            routes: z.array(z.string()),
          }),
        ),
      })
      .nullable(),
    timeline: z.array(z.strictObject({ at: time, event: z.string(), detail: z.string() })),
  }),
);
