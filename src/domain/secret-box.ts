import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, type KeyObject, createSecretKey } from 'node:crypto';

/**
 * Encryption at rest for secrets Gatehouse must read back (signing keys, TOTP secrets, the
 * authorization server's records, webhook signing secrets): AES-256-GCM
 * under a key derived from the master key with HKDF-SHA-256 (RFC 5869), one key per purpose. The
 * record's id is bound as associated data, so a sealed value cannot be moved to another record.
 */
export type SealPurpose = 'signing-key' | 'totp-secret' | 'oidc-record' | 'webhook-secret' | 'console-session' | 'console-login';

export interface SecretBox {
  seal(plaintext: string, recordId: string): string;
  /** Throws when the value was not sealed by this key for this record. */
  open(sealed: string, recordId: string): string;
}

export function createSecretBox(masterKey: Buffer, purpose: SealPurpose): SecretBox {
  if (masterKey.length < 32) throw new Error('the master key must be at least 32 bytes');
  const key: KeyObject = createSecretKey(Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `gatehouse ${purpose} v1`, 32)));
  return {
    seal(plaintext, recordId) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(recordId));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    open(sealed, recordId) {
      const [version, iv, body, tag] = sealed.split('.');
      if (version !== 'v1' || !iv || body === undefined || !tag) throw new Error('not a sealed value');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url')).setAAD(Buffer.from(recordId));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}
