import type { RequestLogEntry } from '../store/port.ts';

/** The admin API's shape of a record: the entry, with its time as RFC 3339. */
export function requestView(entry: RequestLogEntry) {
  const { at, ...rest } = entry;
  return { at: new Date(at).toISOString(), ...rest };
}
export type RequestView = ReturnType<typeof requestView>;

/** Export columns, in order; the JSON fields of the same name. */
export const CSV_COLUMNS = [
  'at',
  'requestId',
  'traceId',
  'api',
  'apiId',
  'route',
  'method',
  'path',
  'query',
  'status',
  'denialCode',
  'durationMs',
  'upstreamMs',
  'bytesIn',
  'bytesOut',
  'keyId',
  'appId',
  'user',
  'clientId',
  'address',
  'userAgent',
] as const satisfies readonly (keyof RequestView)[];

export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

/** One CSV record (RFC 4180: CRLF line ends, fields with a comma, quote or line break quoted). */
export function csvLine(view: RequestView): string {
  return `${CSV_COLUMNS.map((column) => csvField(view[column])).join(',')}\r\n`;
}

/** One NDJSON line. */
export function ndjsonLine(view: RequestView): string {
  return `${JSON.stringify(view)}\n`;
}

/**
 * A field as CSV. Paths, queries and user agents are the client's text: one starting with `=`, `+`,
 * `-`, `@`, a tab or a carriage return would be run as a formula by spreadsheet programs (CSV
 * injection, OWASP), so it gets a leading `'`; null is the empty field.
 */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
