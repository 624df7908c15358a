import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';

/** A key of its own for one purpose, from the master key with HKDF-SHA-256 (RFC 5869): `info` names the purpose. */
export function deriveSubkey(masterKey: Buffer, info: string): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), info, 32)));
}

/** Maps a bearer secret to the value it is stored and looked up under. */
export type BearerHash = (secret: string) => string;

/**
 * The keyed hash under which the authorization server keeps a secret it handed out (refresh token,
 * authorization code, device code, user code, session and interaction id): HMAC-SHA-256 (RFC 2104)
 * under a key derived from the master key, base64url. A lookup hashes what was presented, so a value
 * read from the store cannot be presented, and without the master key a guess cannot be checked offline.
 */
export function createBearerHash(masterKey: Buffer): BearerHash {
  const key = deriveSubkey(masterKey, 'gatehouse oidc record id v1');
  return (secret) => createHmac('sha256', key).update(secret).digest('base64url');
}
