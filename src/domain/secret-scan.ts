import { hash } from 'node:crypto';
import { isWellFormedKey, KEY_PREFIXES, parseKey, type Environment, type KeyKind } from './key-format.ts';

/**
 * Finding Gatehouse secrets in text, without I/O: the scanner (src/scan/) reads files and git
 * objects and hands their text here. A candidate is anything shaped like one of our secrets
 * (`<prefix>_<env>_` and 30 base62 characters); only those whose CRC32 checksum holds are reported,
 * so random look-alikes (test fixtures, hashes, other vendors' tokens) are not.
 *
 * No word boundary is required on either side: a key inside a URL-encoded query (`key%3Dgk_live_...`)
 * or glued to other text is still that key, and the checksum keeps the false positives out.
 */
const CANDIDATE = /(gk_pub|gka|gcs|gk)_(live|test)_[0-9A-Za-z]{30}/g;

const KIND_BY_PREFIX: Readonly<Record<string, KeyKind>> = Object.fromEntries(
  (Object.entries(KEY_PREFIXES) as [KeyKind, string][]).map(([kind, prefix]) => [prefix, kind]),
);

/** What each kind is called in reports and SARIF rules. */
export const SECRET_KIND_NAMES: Readonly<Record<KeyKind, string>> = {
  api: 'API key',
  publishable: 'publishable key',
  admin: 'admin key',
  clientSecret: 'OAuth client secret',
};

export interface SecretMatch {
  /** The whole secret: for looking it up and acting on it, never for printing. */
  secret: string;
  kind: KeyKind;
  environment: Environment;
  /** The non-secret start (ParsedKey.start), e.g. `gk_live_3Fq9`: what reports show. */
  start: string;
  /** `sha256:` and the first 16 hex digits of SHA-256(secret): names a secret in reports without revealing it. */
  fingerprint: string;
  /** 1-based line and column (UTF-16 code units, SARIF's default) of the secret's first character. */
  line: number;
  column: number;
}

/** SHA-256 of the secret, hex: the token_hash code hosts use (GitHub's secret scanning feedback). */
export function secretSha256(secret: string): string {
  return hash('sha256', secret, 'hex');
}

export function secretFingerprint(secret: string): string {
  return `sha256:${secretSha256(secret).slice(0, 16)}`;
}

/** A well-formed secret of any of our kinds, parsed; null for anything else (a bad checksum too). */
export function classifySecret(candidate: string): { kind: KeyKind; environment: Environment; start: string } | null {
  const match = /^(gk_pub|gka|gcs|gk)_/.exec(candidate);
  const kind = match ? KIND_BY_PREFIX[match[1]!] : undefined;
  if (!kind) return null;
  return parseKey(candidate, kind);
}

/** Every well-formed Gatehouse secret in `text`, in order, with its line and column. */
export function findSecrets(text: string): SecretMatch[] {
  // Most text holds none: one scan for the environment marker before the regular expression runs.
  if (!text.includes('_live_') && !text.includes('_test_')) return [];
  const found: SecretMatch[] = [];
  let line = 1;
  let lineStart = 0;
  let counted = 0;
  const candidates = new RegExp(CANDIDATE);
  for (let m = candidates.exec(text); m !== null; m = candidates.exec(text)) {
    const secret = m[0];
    const kind = KIND_BY_PREFIX[m[1]!]!;
    // A look-alike is not a secret, nor is the text it matched used up: a key may begin inside it.
    if (!isWellFormedKey(secret, kind)) {
      candidates.lastIndex = m.index + 1;
      continue;
    }
    // Lines are counted only up to each hit, once: a file with no hit costs no line count.
    for (let i = text.indexOf('\n', counted); i !== -1 && i < m.index; i = text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    counted = m.index;
    found.push({
      secret,
      kind,
      environment: m[2] as Environment,
      start: parseKey(secret, kind)!.start,
      fingerprint: secretFingerprint(secret),
      line,
      column: m.index - lineStart + 1,
    });
  }
  return found;
}

const LIVE = Buffer.from('_live_');
const TEST = Buffer.from('_test_');

/**
 * Whether bytes may hold one of our secrets (every one has `_live_` or `_test_`): a byte search, so
 * the text of the many files and blobs without one is never decoded.
 */
export function mayHoldSecret(bytes: Buffer): boolean {
  return bytes.indexOf(LIVE) !== -1 || bytes.indexOf(TEST) !== -1;
}

/** Git's own test: a NUL byte in the first 8000 bytes makes a file binary (xdiff's buffer_is_binary). */
export function looksBinary(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, 8000);
  for (let i = 0; i < end; i++) if (bytes[i] === 0) return true;
  return false;
}

/**
 * A JWT's shape: a header that is base64url JSON (`eyJ`, `{"`), claims and a signature (maybe empty:
 * an unsecured JWT is a bearer credential all the same). The header is decoded and must name an `alg`,
 * so a file named `eyJhbGci.notes.md` is a place, not a token.
 */
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

function holdsJwt(text: string): boolean {
  for (const [jwt] of text.matchAll(JWT_SHAPE)) {
    try {
      const header: unknown = JSON.parse(Buffer.from(jwt.slice(0, jwt.indexOf('.')), 'base64url').toString('utf8'));
      if (typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string') return true;
    } catch {
      // Not JSON: not a JWT header.
    }
  }
  return false;
}

/** Percent-escapes decoded per round: a URL copied from a log may have been encoded twice or more (`%255F`). */
const DECODE_ROUNDS = 4;

/**
 * Whether text meant to name a place (an exposure report's `where`) holds a secret: one of our
 * well-formed keys (findSecrets: a place such as `src/gcs_upload.py` is not one) or a JWT, as sent or
 * behind percent-encoding applied once or more (`gk%5F...`, `gk%255F...`). Past DECODE_ROUNDS a text
 * that still decodes further is taken to hold one: nothing legitimate is encoded that deep.
 */
export function placeHoldsSecret(text: string): boolean {
  let current = text;
  for (let round = 0; ; round++) {
    if (findSecrets(current).length > 0 || holdsJwt(current)) return true;
    const decoded = current.replace(/%([0-9A-Fa-f]{2})/g, (_escape, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (decoded === current) return false;
    if (round === DECODE_ROUNDS) return true;
    current = decoded;
  }
}
