/**
 * The one spelling of a request path that the gateway routes on, authorises and forwards, so that an
 * upstream which decodes the path (WSGI PATH_INFO, Express, Spring/Tomcat) acts on the same path that
 * was authorised. RFC 3986 §6.2.2 syntax-based normalisation, made stricter where upstreams disagree:
 *
 * - Percent-encoded octets that may also appear literally in a segment are decoded: the unreserved
 *   characters (§2.3) and, beyond §6.2.2, the sub-delims other than `;` plus `:` and `@` (§3.3 pchar).
 *   Decoding upstreams read `%2B` and `+` alike, so a rule naming `+` must see both as one.
 * - Every other octet stays (or becomes) percent-encoded with upper-case hex digits (§6.2.2.1): a
 *   literal `|` or `[` is sent as `%7C`, `%5B`; encoded non-ASCII must be valid UTF-8 (RFC 3629: no
 *   overlong forms such as `%C0%AE`, no surrogates) and is kept encoded.
 * - Empty segments are merged (`//a` is `/a`); a trailing slash is kept.
 * - Refused, because upstreams read them differently: `.` and `..` segments (also encoded), an encoded
 *   `/`, `\` (literal or encoded), `;` path parameters (literal or encoded; `..;` included), `%25`
 *   (double encoding), malformed escapes, control characters (literal or encoded, C1 included),
 *   a `#`, literal non-ASCII, and anything that is not a path (absolute-form, `*`).
 * - Case is kept; whether letters compare with or without case is the API's choice (`pathCase`).
 *
 * Most paths need none of this: a path of unreserved and sub-delim characters with no `%`, `//` or
 * dot segment is returned as it is after one scan, without building a new string.
 */
export type CanonicalPath = { ok: true; path: string } | { ok: false; reason: string };

/** Not allowed: the reason is looked up by character. */
const REFUSE = 0;
/** Allowed literally in a canonical segment; its percent-encoding is decoded to it. */
const LITERAL = 1;
/** Kept percent-encoded; sent literally, it is encoded. */
const ENCODED = 2;
const SLASH = 3;
const PERCENT = 4;

/** How each ASCII character is treated, literal or decoded. */
const KIND = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) KIND[c] = ENCODED;
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@") KIND[c.charCodeAt(0)] = LITERAL;
KIND[0x2f] = SLASH;
KIND[0x25] = PERCENT;
for (const c of '\\;#') KIND[c.charCodeAt(0)] = REFUSE;
// Controls (0x00-0x1F), space and DEL stay REFUSE: a space must be sent as %20.

const HEX = '0123456789ABCDEF';
const hexValue = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);
const encoded = (byte: number): string => `%${HEX[byte >> 4]}${HEX[byte & 15]}`;

const refuse = (reason: string): CanonicalPath => ({ ok: false, reason });
const NOT_A_PATH = refuse('the request target must be a path starting with "/"');
const MALFORMED = refuse('a "%" must be followed by two hex digits');
const NOT_UTF8 = refuse('percent-encoded bytes that are not valid UTF-8 (overlong or truncated sequences included)');
const NON_ASCII = refuse('a non-ASCII character must be percent-encoded as UTF-8');
const DOT_SEGMENT = refuse('a "." or ".." segment');

/** Why a character, literal or decoded, has no place in a canonical path. */
function refusal(c: number, wasEncoded: boolean): CanonicalPath {
  if (c === 0x2f) return refuse('an encoded "/" (%2F)');
  if (c === 0x5c) return refuse('a "\\" (literal or %5C)');
  if (c === 0x3b) return refuse('a ";" path parameter (literal or %3B)');
  if (c === 0x25) return refuse('an encoded "%" (%25): double encoding');
  if (c === 0x23) return refuse('a "#" in the request target');
  return refuse(wasEncoded ? 'an encoded control character' : 'a control character or space');
}

/** A path of literal characters only, without `//` or dot segments: already canonical. */
function isPlain(raw: string): boolean {
  const n = raw.length;
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x2f) {
      if (i + 1 === n) break;
      const next = raw.charCodeAt(i + 1);
      if (next === 0x2f) return false; // an empty segment
      // A "." or ".." segment: "/." or "/.." followed by "/" or the end.
      if (next === 0x2e && (i + 2 === n || raw.charCodeAt(i + 2) === 0x2f)) return false;
      if (next === 0x2e && raw.charCodeAt(i + 2) === 0x2e && (i + 3 === n || raw.charCodeAt(i + 3) === 0x2f)) return false;
    } else if (c >= 128 || KIND[c] !== LITERAL) return false;
  }
  return true;
}

/** The canonical form of a request path (without its query string), or why there is none. */
export function canonicalPath(raw: string): CanonicalPath {
  if (raw.charCodeAt(0) !== 0x2f) return NOT_A_PATH;
  if (isPlain(raw)) return { ok: true, path: raw };
  const n = raw.length;
  let out = '/';
  let segmentStart = 1;
  let i = 1;
  while (i < n) {
    const c = raw.charCodeAt(i);
    if (c >= 128) return NON_ASCII;
    const kind = KIND[c]!;
    if (kind === SLASH) {
      if (isDotSegment(out, segmentStart)) return DOT_SEGMENT;
      // Empty segments merge: a slash follows only a non-empty segment.
      if (out.length > segmentStart) out += '/';
      segmentStart = out.length;
      i++;
    } else if (kind === LITERAL) {
      out += raw[i];
      i++;
    } else if (kind === ENCODED) {
      out += encoded(c);
      i++;
    } else if (kind === REFUSE) {
      return refusal(c, false);
    } else {
      const byte = byteAt(raw, i);
      if (byte < 0) return MALFORMED;
      if (byte < 0x80) {
        // A space or "#" may not appear literally, but encoded they are ordinary characters.
        const decodedKind = byte === 0x20 || byte === 0x23 ? ENCODED : KIND[byte]!;
        if (decodedKind === LITERAL) out += String.fromCharCode(byte);
        else if (decodedKind === ENCODED) out += encoded(byte);
        else return refusal(byte, true);
        i += 3;
      } else {
        const length = utf8Sequence(raw, i);
        if (length < 0) return length === -2 ? refusal(0, true) : NOT_UTF8;
        for (let k = 0; k < length; k++) out += encoded(byteAt(raw, i + 3 * k));
        i += 3 * length;
      }
    }
  }
  if (isDotSegment(out, segmentStart)) return DOT_SEGMENT;
  return { ok: true, path: out };
}

/** Whether `path` is already in canonical form (listen paths and rule patterns must be). */
export function isCanonicalPath(path: string): boolean {
  const result = canonicalPath(path);
  return result.ok && result.path === path;
}

/** Whether a canonical path holds non-ASCII (always percent-encoded, so a `%8`..`%F` escape). */
export function hasNonAscii(canonical: string): boolean {
  return canonical.indexOf('%') !== -1 && /%[89A-F]/.test(canonical);
}

function isDotSegment(out: string, start: number): boolean {
  const length = out.length - start;
  return (length === 1 && out.charCodeAt(start) === 0x2e) || (length === 2 && out.charCodeAt(start) === 0x2e && out.charCodeAt(start + 1) === 0x2e);
}

/** The octet a `%XX` at `i` encodes, or -1. */
function byteAt(raw: string, i: number): number {
  if (raw.charCodeAt(i) !== 0x25 || i + 2 >= raw.length) return -1;
  const high = hexValue(raw.charCodeAt(i + 1));
  const low = hexValue(raw.charCodeAt(i + 2));
  return high < 0 || low < 0 ? -1 : (high << 4) | low;
}

/**
 * The number of `%XX` escapes forming one UTF-8 character at `i` (RFC 3629 §4, the well-formed
 * byte sequences table), -1 when they do not, -2 for a C1 control character (U+0080-U+009F).
 */
function utf8Sequence(raw: string, i: number): number {
  const lead = byteAt(raw, i);
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) low = 0xa0; // overlong
    if (lead === 0xed) high = 0x9f; // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) low = 0x90; // overlong
    if (lead === 0xf4) high = 0x8f; // above U+10FFFF
  } else return -1; // a continuation byte, an overlong lead (C0, C1) or F5-FF
  for (let k = 1; k < length; k++) {
    const byte = byteAt(raw, i + 3 * k);
    if (byte < (k === 1 ? low : 0x80) || byte > (k === 1 ? high : 0xbf)) return -1;
  }
  if (lead === 0xc2 && byteAt(raw, i + 3) <= 0x9f) return -2;
  return length;
}
