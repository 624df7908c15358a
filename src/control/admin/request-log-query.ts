import { z } from 'zod';
import { id } from '../../domain/inputs/resources.ts';

/** A point in time: RFC 3339, or a duration back from now (`90s`, `15m`, `1h`, `7d`). */
export const timeBound = z.union([z.iso.datetime({ offset: true }), z.string().regex(/^\d{1,9}[smhd]$/)], {
  error: 'an RFC 3339 time (2026-11-29T12:00:00Z) or a duration back from now (15m, 1h, 7d)',
});

export const requestLogQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z
    .string()
    .regex(/^\d{1,16}_\d{1,19}$/, 'a nextCursor from an earlier page')
    .optional(),
  /** From (included) and to (excluded). */
  since: timeBound.optional(),
  until: timeBound.optional(),
  keyId: id('key').optional(),
  appId: id('app').optional(),
  /** The API's id or name. */
  api: z.string().min(1).max(128).optional(),
  /** The access token's subject. */
  user: z.string().min(1).max(256).optional(),
  clientId: z.string().min(1).max(256).optional(),
  /** One status (404) or a class (4xx). */
  status: z
    .string()
    .regex(/^[1-5](?:\d\d|xx)$/, 'a status such as 404, or a class such as 4xx')
    .optional(),
  /** The client's address, exactly. */
  address: z.union([z.ipv4(), z.ipv6()]).optional(),
  /** A denial code (RATE_LIMITED, REVOKED...). */
  code: z
    .string()
    .regex(/^[A-Z][A-Z_]{0,63}$/, 'a denial code such as RATE_LIMITED')
    .optional(),
  /** An export of every matching record instead of a page: also chosen by Accept (application/x-ndjson, text/csv). */
  format: z.enum(['json', 'ndjson', 'csv']).optional(),
});
export type RequestLogQuery = z.output<typeof requestLogQuerySchema>;
