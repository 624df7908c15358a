import type { RequestRecord } from '../gateway/observer.ts';
import { nextRequestId } from '../gateway/request-id.ts';
import type { RequestLogEntry } from '../store/port.ts';
import { unpack, type PackedEntry } from '../store/entry-batch.ts';
import { isCredentialName, pathWithoutSecrets as redactPath, withoutSecrets as redact } from '../domain/secret-redaction.ts';

/**
 * What the request log keeps of an API's query strings: nothing of the values by default (the
 * parameter names only), or, for an API that opts in (`requestLog: { query: true }`), names and
 * values with every credential removed.
 */
export type QueryMode = 'names' | 'values';

export const REDACTED = 'REDACTED';

/** Longest path, query and user agent kept: a record stays small whatever a client sends. */
const MAX_PATH = 2048;
const MAX_QUERY = 2048;
const MAX_USER_AGENT = 512;

/** Text with every secret-shaped part replaced (domain/secret-redaction.ts). */
export const withoutSecrets = (text: string): string => redact(text, REDACTED);

/** A path without secrets, also one that hides a secret behind percent-encoding (domain/secret-redaction.ts). */
export const pathWithoutSecrets = (path: string): string => redactPath(path, REDACTED);

/** `query` as sent (with its `?`) reduced to what the request log may keep; null for none. */
export function keptQuery(query: string, mode: QueryMode): string | null {
  if (query.length < 2) return null;
  const params = new URLSearchParams(query.slice(1));
  const kept = new URLSearchParams();
  const names: string[] = [];
  for (const [rawName, value] of params) {
    const name = withoutSecrets(rawName);
    if (mode === 'names') {
      names.push(encodeURIComponent(name));
      continue;
    }
    // Credential-named (domain/secret-redaction.ts, the rule free text gets too): the value never kept.
    const credential = value !== '' && isCredentialName(name);
    kept.append(name, credential ? REDACTED : withoutSecrets(value));
  }
  const text = mode === 'names' ? names.join('&') : kept.toString();
  // Cut after the secrets went: a cut could otherwise leave part of one no longer recognisable.
  return text === '' ? null : text.slice(0, MAX_QUERY);
}

/** The request log's entry for a gateway record: nothing secret, bounded in size. */
export function requestLogEntry(record: RequestRecord, mode: QueryMode): RequestLogEntry {
  return unpack(requestLogRow(record, mode));
}

/**
 * The same entry as a row (PackedEntry: the fields in REQUEST_LOG_FIELDS order), made as the record
 * is observed: the buffer then holds one small array per request instead of the record, and a flush
 * hands the rows to the writer as they are (no entry object, no packing, per request).
 */
export function requestLogRow(record: RequestRecord, mode: QueryMode): PackedEntry {
  return [
    record.startedAt,
    // The caller chooses its X-Request-Id: a key sent there is still a key. A forwarded request
    // without one gets one here (the generator denials use), so every record has its own.
    record.requestId === null ? nextRequestId() : withoutSecrets(record.requestId),
    record.traceId,
    record.apiId,
    record.api,
    record.route,
    record.method,
    pathWithoutSecrets(record.path).slice(0, MAX_PATH),
    keptQuery(record.query, mode),
    record.status,
    record.denialCode,
    round3(record.durationMs),
    record.upstreamMs === null ? null : round3(record.upstreamMs),
    record.bytesIn,
    record.bytesOut,
    record.keyId,
    record.appId,
    record.user,
    record.clientId,
    record.ip,
    record.userAgent === null ? null : withoutSecrets(record.userAgent).slice(0, MAX_USER_AGENT),
  ];
}

/** Microseconds are the most a millisecond timing here can mean. */
const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;
