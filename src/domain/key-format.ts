import { crc32 } from 'node:zlib';
import { BASE62, decodeFixed, encodeFixed, isBase62, randomBase62 } from './base62.ts';

/**
 * Key format: `<prefix>_<env>_<random><checksum>`.
 * - random: 24 base62 characters from the CSPRNG (log2(62^24) ≈ 142.9 bits, above the 128 asked for).
 * - checksum: CRC32 of everything before it, as 6 base62 characters, so a mistyped or made-up key
 *   is refused without a store lookup and secret scanners can match our keys with almost no
 *   false positives (the same idea as GitHub's token format).
 * - `_` separators only, so a double-click selects the whole key.
 */
export const RANDOM_LENGTH = 24;
export const CHECKSUM_LENGTH = 6;
/** `gk_pub` keys are publishable: they identify a browser or mobile app, unlock only public-read routes. */
export const KEY_PREFIXES = { api: 'gk', publishable: 'gk_pub', admin: 'gka', clientSecret: 'gcs' } as const;
export type KeyKind = keyof typeof KEY_PREFIXES;
export const ENVIRONMENTS = ['live', 'test'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** How many characters of the secret are kept, in the clear, for display: prefix, env and 4 more. */
const START_EXTRA = 4;

export interface ParsedKey {
  kind: KeyKind;
  environment: Environment;
  /** Non-secret display form, e.g. `gk_live_3Fq9`. */
  start: string;
}

export function generateKey(kind: KeyKind, environment: Environment): { secret: string; start: string } {
  const body = `${KEY_PREFIXES[kind]}_${environment}_${randomBase62(RANDOM_LENGTH)}`;
  const secret = body + checksum(body);
  return { secret, start: startOf(secret, kind) };
}

/** Structural check only (no store access). Returns null for anything that is not our key of this kind. */
export function parseKey(secret: string, kind: KeyKind): ParsedKey | null {
  if (!isWellFormedKey(secret, kind)) return null;
  const environment = secret.slice(KEY_PREFIXES[kind].length + 1, KEY_PREFIXES[kind].length + 5) as Environment;
  return { kind, environment, start: startOf(secret, kind) };
}

/** The length of every secret of this kind (prefix, environment, random part, checksum). */
export const keyLength = (kind: KeyKind): number => KEY_PREFIXES[kind].length + 6 + RANDOM_LENGTH + CHECKSUM_LENGTH;

/**
 * The same check as parseKey without building anything: it runs on every gateway request, so it
 * compares characters in place and decodes the checksum instead of encoding the expected one.
 */
export function isWellFormedKey(secret: string, kind: KeyKind): boolean {
  const prefix = KEY_PREFIXES[kind];
  const envStart = prefix.length + 1;
  const bodyEnd = secret.length - CHECKSUM_LENGTH;
  if (secret.length !== keyLength(kind)) return false;
  if (!secret.startsWith(prefix) || secret.charCodeAt(prefix.length) !== 95 || secret.charCodeAt(envStart + 4) !== 95) return false;
  if (!secret.startsWith('live', envStart) && !secret.startsWith('test', envStart)) return false;
  if (!isBase62(secret, envStart + 5)) return false;
  return decodeFixed(secret, bodyEnd) === crc32(secret.slice(0, bodyEnd));
}

/**
 * Whether `secret` is a key of this kind but for one character of its random part or checksum (a typo).
 * Such a text gives the key away: the checksum tells which of its 30 * 61 one-character changes is the
 * key, offline, in milliseconds. The secret-shape rule hides it where it is glued to other text.
 * The 24 * 61 changes of the random part cost a table lookup each, not a CRC32: CRC32 is affine, so
 * changing one byte changes the CRC by a value that depends only on the byte's position, the XOR of
 * its old and new value and the length (CRC_DELTAS).
 */
export function isMistypedKey(secret: string, kind: KeyKind): boolean {
  const randomStart = KEY_PREFIXES[kind].length + 6;
  const bodyEnd = secret.length - CHECKSUM_LENGTH;
  if (secret.length !== keyLength(kind) || !secret.startsWith(`${KEY_PREFIXES[kind]}_`)) return false;
  if (!secret.startsWith('live_', randomStart - 5) && !secret.startsWith('test_', randomStart - 5)) return false;
  if (!isBase62(secret, randomStart)) return false;
  const body = secret.slice(0, bodyEnd);
  const crc = crc32(body);
  // A typo in the checksum: the body's own checksum differs from the one written in one place.
  const own = checksum(body);
  let differing = 0;
  for (let i = 0; i < CHECKSUM_LENGTH; i++) if (own.charCodeAt(i) !== secret.charCodeAt(bodyEnd + i)) differing++;
  if (differing === 1) return true;
  // A typo in the random part: one change of one character makes the body's CRC the checksum's.
  const written = decodeFixed(secret, bodyEnd);
  if (differing === 0 || written > 0xffffffff) return false;
  const deltas = crcDeltas(body.length);
  for (let at = randomStart; at < bodyEnd; at++) {
    const was = body.charCodeAt(at);
    for (let d = 0; d < BASE62.length; d++) {
      const c = BASE62.charCodeAt(d);
      if (c !== was && (crc ^ deltas[at * 128 + (was ^ c)]!) >>> 0 === written) return true;
    }
  }
  return false;
}

/**
 * Whether `text` is a key of this kind but for one character of its random part or checksum dropped or one
 * inserted (a slip of the hand, or a copy that lost one): as isMistypedKey, the checksum gives the key
 * back, offline: which of 24 * 62 characters put back, or which of 25 taken out, makes the body's CRC32
 * the one written.
 * - One off the checksum: the body is whole; its own checksum is the written one with one character more
 *   or less (a CRC32 and a comparison).
 * - One taken from the random part: the written checksum is whole. For each place it may have stood, one
 *   CRC32 of the body with a NUL there, then a table lookup for each of the 62 characters (CRC32 is affine:
 *   CRC_DELTAS, as isMistypedKey); 24 CRC32s of 36 bytes and 1,488 lookups in all.
 * - One put into the random part: for each of its 25 characters, the CRC32 of the body without it.
 * A look-alike whose written checksum is no CRC32 (above 2^32: 92% of random base62) costs one CRC32.
 */
export function isKeyOffByOneCharacter(text: string, kind: KeyKind): boolean {
  const length = keyLength(kind);
  const randomStart = KEY_PREFIXES[kind].length + 6;
  if (text.length !== length - 1 && text.length !== length + 1) return false;
  if (!text.startsWith(`${KEY_PREFIXES[kind]}_`)) return false;
  if (!text.startsWith('live_', randomStart - 5) && !text.startsWith('test_', randomStart - 5)) return false;
  if (!isBase62(text, randomStart)) return false;
  const bodyLength = length - CHECKSUM_LENGTH;
  const wholeBody = text.slice(0, bodyLength);
  const writtenAfterWholeBody = text.slice(bodyLength);
  if (text.length === length + 1) {
    if (isOneLonger(writtenAfterWholeBody, checksum(wholeBody))) return true;
    const written = decodeFixed(text, bodyLength + 1);
    if (written > 0xffffffff) return false;
    const longBody = text.slice(0, bodyLength + 1);
    for (let at = randomStart; at <= bodyLength; at++) {
      // Taking out either of two equal neighbours gives the same body.
      if (at > randomStart && longBody.charCodeAt(at) === longBody.charCodeAt(at - 1)) continue;
      if (crc32(longBody.slice(0, at) + longBody.slice(at + 1)) === written) return true;
    }
    return false;
  }
  if (isOneLonger(checksum(wholeBody), writtenAfterWholeBody)) return true;
  const written = decodeFixed(text, bodyLength - 1);
  if (written > 0xffffffff) return false;
  const shortBody = text.slice(0, bodyLength - 1);
  const deltas = crcDeltas(bodyLength);
  for (let at = randomStart; at < bodyLength; at++) {
    const crc = crc32(`${shortBody.slice(0, at)}\0${shortBody.slice(at)}`);
    for (let d = 0; d < BASE62.length; d++) if ((crc ^ deltas[at * 128 + BASE62.charCodeAt(d)]!) >>> 0 === written) return true;
  }
  return false;
}

/** Whether taking one character out of `long` gives `short`. */
function isOneLonger(long: string, short: string): boolean {
  if (long.length !== short.length + 1) return false;
  let at = 0;
  while (at < short.length && long.charCodeAt(at) === short.charCodeAt(at)) at++;
  return long.startsWith(short.slice(at), at + 1);
}

/** CRC_DELTAS of a body this long: at `position * 128 + xor`, what XORing a byte there with `xor` (below 128: ASCII) does to its CRC32. */
const CRC_DELTAS = new Map<number, Uint32Array>();
function crcDeltas(length: number): Uint32Array {
  let deltas = CRC_DELTAS.get(length);
  if (deltas === undefined) {
    deltas = new Uint32Array(length * 128);
    const probe = Buffer.alloc(length);
    const zero = crc32(probe);
    for (let at = 0; at < length; at++) {
      for (let xor = 1; xor < 128; xor++) {
        probe[at] = xor;
        deltas[at * 128 + xor] = (crc32(probe) ^ zero) >>> 0;
      }
      probe[at] = 0;
    }
    CRC_DELTAS.set(length, deltas);
  }
  return deltas;
}

function checksum(body: string): string {
  return encodeFixed(crc32(body), CHECKSUM_LENGTH);
}

function startOf(secret: string, kind: KeyKind): string {
  return secret.slice(0, KEY_PREFIXES[kind].length + 6 + START_EXTRA);
}
