import { createHash, createHmac, createSecretKey, hash, timingSafeEqual, type KeyObject } from 'node:crypto';

/** A server-side secret mixed into every key hash; several may be configured while one rotates out. */
export interface Pepper {
  /** Non-secret identifier stored beside each hash: the first 8 hex digits of SHA-256(secret). */
  id: string;
  /** Imported once: HMAC with a KeyObject costs a fraction of HMAC with raw bytes, per call. */
  key: KeyObject;
}

export function createPepper(secret: Buffer): Pepper {
  return { id: createHash('sha256').update(secret).digest('hex').slice(0, 8), key: createSecretKey(secret) };
}

/**
 * Keyed hash of a key secret: HMAC-SHA-256 (RFC 2104) under the pepper, base64url.
 * A stolen database alone cannot be used to test guesses offline without the pepper.
 */
export function hashKey(secret: string, pepper: Pepper): string {
  return createHmac('sha256', pepper.key).update(secret).digest('base64url');
}

/**
 * SHA-256 of a secret, for finding an already-verified key in memory. It never leaves the process
 * and never reaches the store (which holds only the keyed hash): for a 143-bit random secret an
 * unkeyed digest is as hard to invert, and the one-shot `crypto.hash` costs a fraction of an HMAC.
 */
export function fingerprint(secret: string): string {
  return hash('sha256', secret, 'base64url');
}

/** Constant-time equality for two hashes of the same length. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The one way a presented secret finds its stored record: hash it under each pepper (newest first,
 * then those still accepted during a rotation) and confirm the stored hash in constant time rather
 * than trust the index's comparison. `find` is the store's lookup by hash.
 */
export async function findBySecret<T extends { hash: string }>(
  secret: string,
  peppers: readonly Pepper[],
  find: (hash: string) => Promise<T | null>,
): Promise<T | null> {
  for (const pepper of peppers) {
    const hash = hashKey(secret, pepper);
    const found = await find(hash);
    if (found && hashesEqual(found.hash, hash)) return found;
  }
  return null;
}
