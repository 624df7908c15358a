import type { RequestRecord } from '../gateway/observer.ts';
import { nextRequestId } from '../gateway/request-id.ts';
import type { RequestLogEntry } from '../store/port.ts';
import { unpack, type PackedEntry } from '../store/entry-batch.ts';

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

/**
 * Parameter names that carry credentials by convention (lower-case, `-` read as `_`, as a word
 * between `_`s): API keys, tokens, secrets, passwords, signatures of presigned URLs
 * (`X-Amz-Signature`, `sig`), OAuth codes and assertions. Their values are never kept.
 */
const CREDENTIAL_NAME =
  /(?:^|_)(?:key|apikey|token|secret|password|passwd|pwd|pass|signature|sig|auth|authorization|credential|credentials|session|sessionid|sid|jwt|assertion|code|otp)s?(?:$|_)/;
/**
 * Secrets recognisable by their shape, wherever they sit (a path segment, a parameter name or
 * value): our API, publishable and admin keys and client secrets (`gk_`, `gka_`, `gcs_`), and JWTs.
 */
const SECRET_SHAPE = /g(?:k|ka|cs)_[A-Za-z0-9_]+|eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?/g;
const MAY_HOLD_SECRET = /g(?:k|ka|cs)_|eyJ/;
/** A character of SECRET_SHAPE's alphabet. */
const SECRET_CHARACTER = /[A-Za-z0-9_.-]/;

/** Text with every secret-shaped part replaced; the common case (nothing like one) costs one test. */
export function withoutSecrets(text: string): string {
  return MAY_HOLD_SECRET.test(text) ? text.replace(SECRET_SHAPE, REDACTED) : text;
}

/**
 * A path without secrets. A canonical path has unreserved characters decoded already; a path
 * refused as not canonical is kept as sent, so one that hides a secret behind percent-encoding
 * (`gk%5Flive_...`) is kept decoded, with the secret replaced.
 */
export function pathWithoutSecrets(path: string): string {
  if (path.includes('%')) {
    // Only the escapes of characters a secret is made of are decoded: enough to see one, and no
    // escape of a control character (`%00`, `%1b`) becomes one in the log, where a NUL made
    // PostgreSQL refuse the whole batch and an ESC reaches the terminal of whoever reads it.
    const decoded = path.replace(/%([2-7][0-9A-Fa-f])/g, (escape, hex: string) => {
      const c = String.fromCharCode(parseInt(hex, 16));
      return SECRET_CHARACTER.test(c) ? c : escape;
    });
    if (decoded !== path && MAY_HOLD_SECRET.test(decoded)) return decoded.replace(SECRET_SHAPE, REDACTED);
  }
  return withoutSecrets(path);
}

/** A parameter name as CREDENTIAL_NAME reads it: words split at `-` and at camelCase humps (`accessToken`: `access_token`), lower-case. */
const credentialWords = (name: string): string =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replaceAll('-', '_');

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
    const credential = value !== '' && CREDENTIAL_NAME.test(credentialWords(name));
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
