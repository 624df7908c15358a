import type { RequestRecord } from '../gateway/observer.ts';
import { nextRequestId } from '../gateway/request-id.ts';
import type { RequestLogEntry } from '../store/port.ts';

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
    // Our secrets are ASCII: decoding the ASCII escapes is enough to see them, and cannot fail.
    const decoded = path.replace(/%([0-7][0-9A-Fa-f])/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (decoded !== path && MAY_HOLD_SECRET.test(decoded)) return decoded.replace(SECRET_SHAPE, REDACTED);
  }
  return withoutSecrets(path);
}

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
    const credential = value !== '' && CREDENTIAL_NAME.test(name.toLowerCase().replaceAll('-', '_'));
    kept.append(name, credential ? REDACTED : withoutSecrets(value));
  }
  const text = mode === 'names' ? names.join('&') : kept.toString();
  // Cut after the secrets went: a cut could otherwise leave part of one no longer recognisable.
  return text === '' ? null : text.slice(0, MAX_QUERY);
}

/** The request log's entry for a gateway record: nothing secret, bounded in size. */
export function requestLogEntry(record: RequestRecord, mode: QueryMode): RequestLogEntry {
  return {
    at: record.startedAt,
    // The caller chooses its X-Request-Id: a key sent there is still a key. A forwarded request
    // without one gets one here (the generator denials use), so every record has its own.
    requestId: record.requestId === null ? nextRequestId() : withoutSecrets(record.requestId),
    traceId: record.traceId,
    apiId: record.apiId,
    api: record.api,
    route: record.route,
    method: record.method,
    path: pathWithoutSecrets(record.path).slice(0, MAX_PATH),
    query: keptQuery(record.query, mode),
    status: record.status,
    denialCode: record.denialCode,
    durationMs: round3(record.durationMs),
    upstreamMs: record.upstreamMs === null ? null : round3(record.upstreamMs),
    bytesIn: record.bytesIn,
    bytesOut: record.bytesOut,
    keyId: record.keyId,
    appId: record.appId,
    user: record.user,
    clientId: record.clientId,
    address: record.ip,
    userAgent: record.userAgent === null ? null : withoutSecrets(record.userAgent).slice(0, MAX_USER_AGENT),
  };
}

/** Microseconds are the most a millisecond timing here can mean. */
const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;
