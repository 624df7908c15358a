import { createHash } from 'node:crypto';

/**
 * Redis key names. Every key is `gatehouse:{<subject>}:<what>`: the part in braces is the Redis
 * Cluster hash tag (cluster-spec "Hash tags"), so every key one script touches (a key's rate limits
 * and its quota, an API's per-app and per-user limits) names the same subject and lives in one hash
 * slot. Subjects that carry what a client typed (account names, addresses, DPoP proof ids) are
 * hashed: fixed length, no braces, nothing personal in the key space.
 */
export const KEY_PREFIX = 'gatehouse:';

export function redisKey(subject: string, what: string, prefix = KEY_PREFIX): string {
  return `${prefix}{${subject}}:${what}`;
}

/** A short, stable digest of text a client chose (SHA-256, 128 bits in base64url). */
export function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}
