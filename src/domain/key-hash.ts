import { createHmac, timingSafeEqual } from 'node:crypto';

/** A server-side secret mixed into every key hash; several may be configured while one rotates out. */
export interface Pepper {
  id: string;
  secret: Buffer;
}

/**
 * Keyed hash of a key secret: HMAC-SHA-256 (RFC 2104) under the pepper, base64url.
 * A stolen database alone cannot be used to test guesses offline without the pepper.
 */
export function hashKey(secret: string, pepper: Pepper): string {
  return createHmac('sha256', pepper.secret).update(secret).digest('base64url');
}

/** Constant-time equality for two hashes of the same length. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
