import { z } from 'zod';
import { id } from '../../domain/inputs/resources.ts';

/** The admin API's list queries: paging and filters (request shapes only the admin API has). */
export const pageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(64).optional(),
});

/** Lists of APIs, apps and policies: `name` finds the id of a name (an app's may match several). */
export const namedPageQuerySchema = pageQuerySchema.extend({
  name: z.string().min(1).max(128).optional().meta({ description: 'only those with exactly this name' }),
});

export const keyListQuerySchema = pageQuerySchema.extend({
  appId: id('app').optional(),
  apiId: id('api').optional(),
  environment: z.enum(['live', 'test']).optional(),
  status: z.enum(['active', 'disabled', 'expired', 'revoked']).optional(),
  /** Keys whose secret was seen in the clear (sent over plain HTTP): `exposedAt` is set. */
  exposed: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  /** Keys older than their rotation period (their own rule, else their policy's): docs/rotation.md. */
  rotationDue: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  expiresBefore: z.iso
    .datetime({ offset: true })
    .meta({
      description:
        'only keys expiring by this time (RFC 3339): not revoked, with an expiry after now and at or before this time; keys already expired are status=expired',
    })
    .transform((t) => Date.parse(t))
    .optional(),
  policyId: id('pol')
    .optional()
    .meta({ description: 'only keys that name this policy, whatever their status (a policy cannot be deleted while any key names it)' }),
});

export const userListQuerySchema = pageQuerySchema.extend({
  pendingApproval: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .meta({ description: 'true: only developers waiting for approval (portal.signup: approval), to approve with POST /users/{id}/approve' }),
});

export const auditQuerySchema = pageQuerySchema.extend({
  targetId: z.string().max(64).optional(),
  action: z.string().max(64).optional(),
});
