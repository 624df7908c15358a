import { z } from 'zod';
import { id } from '../../domain/inputs/resources.ts';
import { USAGE_DIMENSIONS } from '../../store/port.ts';
import { timeBound } from './request-log-query.ts';

/** A filter's value for "none": requests without a key, an app, an API or a route, or forwarded (no denial code). */
export const NONE = 'none';
const none = z.literal(NONE);

const dimensions = z
  .string()
  .transform((list) => list.split(',').map((d) => d.trim()))
  .pipe(z.array(z.enum(USAGE_DIMENSIONS, { error: `each of ${USAGE_DIMENSIONS.join(', ')}` })))
  .refine((list) => new Set(list).size === list.length, 'each dimension once');

/** The filters both usage routes share: each exactly one value, or `none`. */
const filters = {
  keyId: z.union([id('key'), none]).optional(),
  appId: z.union([id('app'), none]).optional(),
  /** The API's id or name. */
  api: z.string().min(1).max(128).optional(),
};

export const usageQuerySchema = z.strictObject({
  /** From (included) and until (excluded), widened to the granularity's buckets; default the last 24 hours. */
  from: timeBound.optional(),
  until: timeBound.optional(),
  /** Which rollup is read; default: the finest that keeps the range and answers at most a few hundred points. */
  granularity: z.enum(['minute', 'hour', 'day']).optional(),
  /** Comma-separated dimensions, a series per combination of their values: key,app,api,route,statusClass,denialCode. */
  groupBy: dimensions.optional(),
  ...filters,
  /** The route template (`/orders/items/*`), exactly. */
  route: z.union([z.string().regex(/^\//, 'a route template such as /orders/items/*').max(2048), none]).optional(),
  statusClass: z.enum(['0', '1xx', '2xx', '3xx', '4xx', '5xx']).optional(),
  denialCode: z.union([z.string().regex(/^[A-Z][A-Z_]{0,63}$/, 'a denial code such as RATE_LIMITED'), none]).optional(),
});
export type UsageQueryInput = z.output<typeof usageQuerySchema>;

export const billingQuerySchema = z.strictObject({
  /** Calendar days or months in the configured billing time zone; default month. */
  period: z.enum(['day', 'month']).default('month'),
  /** Every whole period that overlaps [from, until); default the previous period and the current one. */
  from: timeBound.optional(),
  until: timeBound.optional(),
  appId: id('app').optional(),
  api: filters.api,
  /** CSV instead of JSON: also chosen by Accept: text/csv. */
  format: z.enum(['json', 'csv']).optional(),
});
export type BillingQueryInput = z.output<typeof billingQuerySchema>;
