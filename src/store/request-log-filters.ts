import { REQUEST_LOG_FIELDS, type RequestLogEntry, type RequestLogFilters } from './port.ts';
import type { EntryCondition } from './entry-batch.ts';

const at = (field: keyof RequestLogEntry): number => REQUEST_LOG_FIELDS.indexOf(field);
/** The filters that select by one field's text, and where that field is in an entry. */
const TEXT: readonly [Exclude<keyof RequestLogFilters, 'since' | 'until' | 'status' | 'api'>, number][] = [
  ['keyId', at('keyId')],
  ['appId', at('appId')],
  ['user', at('user')],
  ['clientId', at('clientId')],
  ['address', at('address')],
  ['denialCode', at('denialCode')],
];

/**
 * The request log's filters as conditions on stored entries (entry-batch.ts), for a store that
 * filters entries itself rather than asking its engine to: what the PostgreSQL adapter's WHERE
 * clause selects (the store contract holds both to the same answers).
 */
export function requestLogConditions(f: RequestLogFilters): EntryCondition[] {
  const conditions: EntryCondition[] = [];
  if (f.since !== undefined || f.until !== undefined) conditions.push({ field: at('at'), atLeast: f.since, below: f.until });
  if (f.api !== undefined) conditions.push({ fields: [at('apiId'), at('api')], equals: f.api });
  if (f.status !== undefined) conditions.push({ field: at('status'), atLeast: f.status.min, atMost: f.status.max });
  for (const [filter, field] of TEXT) {
    const value = f[filter];
    if (value !== undefined) conditions.push({ fields: [field], equals: value });
  }
  return conditions;
}
