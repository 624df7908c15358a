import { randomBytes } from 'node:crypto';

export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Fixed-width base62 of a non-negative integer below 62^width (left-padded with '0'). */
export function encodeFixed(value: number, width: number): string {
  let out = '';
  let n = value;
  for (let i = 0; i < width; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/**
 * `length` uniformly random base62 characters from the CSPRNG. Rejection sampling
 * (bytes >= 248 are dropped) keeps every character equally likely: 248 = 4 * 62.
 */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** Reads the base62 number written by encodeFixed from `from` to the end of `text`. */
export function decodeFixed(text: string, from: number): number {
  let n = 0;
  for (let i = from; i < text.length; i++) n = n * 62 + digit(text.charCodeAt(i));
  return n;
}

function digit(c: number): number {
  if (c <= 57) return c - 48;
  if (c <= 90) return c - 55;
  return c - 61;
}

/** Whether every character of `text` from `from` on is a base62 digit. */
export function isBase62(text: string, from = 0): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!ok) return false;
  }
  return true;
}
