import type { KeyKind } from '../../domain/key-format.ts';
import type { AdminKey, ApiKey, OAuthClient } from '../../domain/entities.ts';
import { findBySecret, hashesEqual, hashKey } from '../../domain/key-hash.ts';
import { classifySecret, placeHoldsSecret } from '../../domain/secret-scan.ts';
import { ControlError, notFound, type Actor, type ControlContext } from '../context.ts';
import type { ExposureAction } from '../../domain/exposure-policy.ts';
import { markExposed, type ExposureSource } from './exposure.ts';
import { keysService, keyStatus } from './keys.ts';

/** How many secrets one lookup may name: a scan's findings go in batches of this many. */
export const LOOKUP_MAX_SECRETS = 100;

/** What a lookup answers for one secret: never the secret, only its non-secret start. */
export interface SecretLookup {
  /** null: not one of our secrets (bad prefix, length or checksum); nothing was looked up. */
  start: string | null;
  kind: KeyKind | null;
  /** false only for a malformed secret. */
  lookedUp: boolean;
  found: boolean;
  /** The key's (admin key's, OAuth client's) id, when found. */
  keyId?: string;
  appId?: string;
  status?: 'active' | 'disabled' | 'expired' | 'revoked';
  /** When the key was first reported exposed, RFC 3339; null when never. */
  exposedAt?: string | null;
}

/** Whose secret this is: a key, an admin key, an OAuth client, or nobody's here. */
export type IdentifiedSecret =
  | { kind: null }
  | { kind: 'api' | 'publishable'; start: string; key: ApiKey | null }
  | { kind: 'admin'; start: string; adminKey: AdminKey | null }
  | { kind: 'clientSecret'; start: string; client: OAuthClient | null };

/** Clients read per page while looking for a client secret's owner. */
const CLIENT_PAGE = 500;

/**
 * Finds whose secret this is, as the gateway and the token endpoint would (each pepper, constant-time
 * confirmation). A malformed secret (bad prefix, length or checksum) is not looked up at all. A client
 * secret's hash is kept in its client's record, which has no index by hash: the clients are read a
 * page at a time (there are few; this runs for scans and code-host reports, not per request).
 */
export async function identifySecret(ctx: ControlContext, secret: string): Promise<IdentifiedSecret> {
  const parsed = classifySecret(secret);
  if (!parsed) return { kind: null };
  const { start } = parsed;
  switch (parsed.kind) {
    case 'admin':
      return { kind: 'admin', start, adminKey: await findBySecret(secret, ctx.peppers, (hash) => ctx.store.adminKeys.findByHash(hash)) };
    case 'clientSecret':
      return { kind: 'clientSecret', start, client: await findClientBySecret(ctx, secret) };
    default:
      return { kind: parsed.kind, start, key: await findBySecret(secret, ctx.peppers, (hash) => ctx.store.keys.findByHash(hash)) };
  }
}

async function findClientBySecret(ctx: ControlContext, secret: string): Promise<OAuthClient | null> {
  const hashes = new Map(ctx.peppers.map((p) => [p.id, hashKey(secret, p)]));
  let cursor: string | undefined;
  do {
    const page = await ctx.store.clients.list({ limit: CLIENT_PAGE, cursor });
    for (const client of page.items) {
      const hash = client.pepperId ? hashes.get(client.pepperId) : undefined;
      if (hash && client.secretHash && hashesEqual(client.secretHash, hash)) return client;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return null;
}

/** For `gatehouse scan`: which of the secrets found are ours, whose, and whether they still work. */
export async function lookupSecrets(ctx: ControlContext, secrets: readonly string[]): Promise<SecretLookup[]> {
  const now = ctx.clock();
  const answers: SecretLookup[] = [];
  // One at a time: a batch is at most LOOKUP_MAX_SECRETS, and the store answers each in well under a millisecond.
  for (const secret of secrets) {
    const found = await identifySecret(ctx, secret);
    if (found.kind === null) {
      answers.push({ start: null, kind: null, lookedUp: false, found: false });
      continue;
    }
    const base = { start: found.start, kind: found.kind, lookedUp: true };
    if (found.kind === 'admin') {
      const a = found.adminKey;
      answers.push(a ? { ...base, found: true, keyId: a.id, status: a.revokedAt === null ? 'active' : 'revoked' } : { ...base, found: false });
    } else if (found.kind === 'clientSecret') {
      const c = found.client;
      answers.push(c ? { ...base, found: true, keyId: c.id, status: c.disabled ? 'disabled' : 'active' } : { ...base, found: false });
    } else {
      const k = found.key;
      answers.push(
        k
          ? {
              ...base,
              found: true,
              keyId: k.id,
              appId: k.appId,
              status: keyStatus(k, now),
              exposedAt: k.exposedAt ? new Date(k.exposedAt).toISOString() : null,
            }
          : { ...base, found: false },
      );
    }
  }
  return answers;
}

/**
 * An operator's or a scanner's report that a key's secret was exposed: recorded through markExposed,
 * which applies the exposure policy (or the action asked for). `where` names a place, never the
 * secret: one in it is refused. A replacement issued by revoke-and-replace is named by id only: a
 * scan's output ends up in CI logs and SARIF uploads, so its secret is not handed back here; the
 * owner gets one with `gatehouse keys rotate <replacement> --grace 0` (docs/incident-response.md).
 */
export async function reportExposure(
  ctx: ControlContext,
  actor: Actor,
  id: string,
  report: { source: Extract<ExposureSource, 'operator' | 'scanner'>; where: string | null; since: string | null; action: ExposureAction | null },
) {
  if (report.where !== null && placeHoldsSecret(report.where)) {
    throw new ControlError('VALIDATION_FAILED', 'where names a place (file, line, commit, URL), never the secret itself', {
      where: 'must not contain a secret: a key or a token (JWT), as sent or percent-encoded',
    });
  }
  const key = await ctx.store.keys.get(id);
  if (!key) throw notFound('key', id);
  const since = report.since === null ? null : Date.parse(report.since);
  const result = await markExposed(ctx, actor, key, { source: report.source, where: report.where, since, action: report.action });
  return {
    key: await keysService.view(ctx, result.key),
    firstExposure: result.first,
    step: result.step,
    replacementId: result.compromise?.replacement?.key.id ?? null,
  };
}
