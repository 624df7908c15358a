import type { KeyKind } from '../../domain/key-format.ts';
import { findBySecret } from '../../domain/key-hash.ts';
import { classifySecret, findSecrets } from '../../domain/secret-scan.ts';
import { ControlError, notFound, type Actor, type ControlContext } from '../context.ts';
import { markExposed, type ExposureSource } from './exposure.ts';
import { keysService, keyStatus } from './keys.ts';

/** How many secrets one lookup may name: a scan's findings go in batches of this many. */
export const LOOKUP_MAX_SECRETS = 100;

/** What a lookup answers for one secret: never the secret, only its non-secret start. */
export interface SecretLookup {
  /** null: not one of our secrets (bad prefix, length or checksum); nothing was looked up. */
  start: string | null;
  kind: KeyKind | null;
  /** false for a kind this endpoint does not look up (OAuth client secrets) or a malformed secret. */
  lookedUp: boolean;
  found: boolean;
  /** The key's (or admin key's) id, when found. */
  keyId?: string;
  appId?: string;
  status?: 'active' | 'disabled' | 'expired' | 'revoked';
  /** When the key was first reported exposed, RFC 3339; null when never. */
  exposedAt?: string | null;
}

/**
 * Finds the keys whose secrets these are, as the gateway would (each pepper, constant-time
 * confirmation: findBySecret), for `gatehouse scan`: which of the secrets found in a repository are
 * ours, and live. API and publishable keys and admin keys are looked up; a client secret is only
 * named (its hash is stored in the client's record, which has no index by hash).
 */
export async function lookupSecrets(ctx: ControlContext, secrets: readonly string[]): Promise<SecretLookup[]> {
  const now = ctx.clock();
  return Promise.all(
    secrets.map(async (secret): Promise<SecretLookup> => {
      const parsed = classifySecret(secret);
      if (!parsed) return { start: null, kind: null, lookedUp: false, found: false };
      const base = { start: parsed.start, kind: parsed.kind };
      if (parsed.kind === 'admin') {
        const admin = await findBySecret(secret, ctx.peppers, (hash) => ctx.store.adminKeys.findByHash(hash));
        if (!admin) return { ...base, lookedUp: true, found: false };
        return { ...base, lookedUp: true, found: true, keyId: admin.id, status: admin.revokedAt === null ? 'active' : 'revoked' };
      }
      if (parsed.kind === 'clientSecret') return { ...base, lookedUp: false, found: false };
      const key = await findBySecret(secret, ctx.peppers, (hash) => ctx.store.keys.findByHash(hash));
      if (!key) return { ...base, lookedUp: true, found: false };
      return {
        ...base,
        lookedUp: true,
        found: true,
        keyId: key.id,
        appId: key.appId,
        status: keyStatus(key, now),
        exposedAt: key.exposedAt ? new Date(key.exposedAt).toISOString() : null,
      };
    }),
  );
}

/**
 * An operator's or a scanner's report that a key's secret was exposed: recorded through markExposed
 * (which applies the exposure policy). `where` names a place, never the secret: one in it is refused.
 */
export async function reportExposure(
  ctx: ControlContext,
  actor: Actor,
  id: string,
  report: { source: Extract<ExposureSource, 'operator' | 'scanner'>; where: string | null },
) {
  if (report.where !== null && findSecrets(report.where).length > 0) {
    throw new ControlError('VALIDATION_FAILED', 'where names a place (file, line, commit, URL), never the secret itself', {
      where: 'must not contain a secret',
    });
  }
  const key = await ctx.store.keys.get(id);
  if (!key) throw notFound('key', id);
  const result = await markExposed(ctx, actor, key, report);
  return { key: await keysService.view(ctx, result.key), firstExposure: result.first };
}
