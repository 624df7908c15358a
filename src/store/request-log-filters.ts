import { REQUEST_LOG_FIELDS, type RequestLogEntry, type RequestLogFilters } from './port.ts';
import type { PackedEntry } from './entry-batch.ts';

const at = (field: keyof RequestLogEntry): number => REQUEST_LOG_FIELDS.indexOf(field);
const AT = at('at');
const STATUS = at('status');
const API_ID = at('apiId');
const API = at('api');
/** The filters that select by one field's equality, and where that field is in a packed entry. */
const EQUAL: readonly [keyof RequestLogFilters, number][] = [
  ['keyId', at('keyId')],
  ['appId', at('appId')],
  ['user', at('user')],
  ['clientId', at('clientId')],
  ['address', at('address')],
  ['denialCode', at('denialCode')],
];

/**
 * The request log's filters as a test of a packed entry (entry-batch.ts), for a store that filters
 * entries itself rather than asking its engine to: what the SQL adapters' WHERE clauses select.
 */
export function requestLogMatcher(f: RequestLogFilters): (row: PackedEntry) => boolean {
  const equal = EQUAL.flatMap(([filter, i]) => (f[filter] === undefined ? [] : [[i, f[filter]] as const]));
  const { since, until, api, status } = f;
  return (row) => {
    const time = row[AT] as number;
    if (since !== undefined && time < since) return false;
    if (until !== undefined && time >= until) return false;
    if (api !== undefined && row[API_ID] !== api && row[API] !== api) return false;
    if (status !== undefined && ((row[STATUS] as number) < status.min || (row[STATUS] as number) > status.max)) return false;
    for (const [i, value] of equal) if (row[i] !== value) return false;
    return true;
  };
}
