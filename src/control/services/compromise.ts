import { lineageOf, type ApiKey, type AuditInput } from '../../domain/entities.ts';
import { newId } from '../../domain/ids.ts';
import { generateKey } from '../../domain/key-format.ts';
import { hashKey } from '../../domain/key-hash.ts';
import { checkKeyTransition } from '../../domain/key-lifecycle.ts';
import { ControlError, requireFound, type Actor, type ControlContext } from '../context.ts';
import { auditedChange } from './audit-change.ts';
import { changedAt, keyRecordView, refusedKeyWrite } from './keys.ts';

/** What a compromise did: the revoked key, its replacement with the new secret (shown once), the tokens revoked. */
export interface Compromise {
  key: ApiKey;
  /** null when the key had been rotated already: its successor (whose secret this leak did not reveal) replaces it. */
  replacement: { key: ApiKey; secret: string } | null;
  /** The `jti` of every token exchanged from the key that was still live, now on the revocation list. */
  revokedTokens: string[];
}

/** `POST /keys/{id}/compromised`: the key, every token exchanged from it, a replacement: one transaction. */
export async function compromiseKey(ctx: ControlContext, actor: Actor, id: string, reason: string): Promise<Compromise> {
  return compromise(ctx, actor, requireFound(await ctx.store.keys.get(id), 'key', id), reason, null);
}

/**
 * Revokes `existing` and every live token exchanged from it, and issues a replacement with every setting
 * of the old key and a new secret (like a rotation with no grace period: the old secret is refused at
 * once), in one store transaction with the audit entries (who, why, what) and the `key.revoked` and
 * `key.compromised` events. The exposure policy's revoke-and-replace comes here with its own report
 * (`exposure`): its `key.exposed` entry is written in the same transaction, first.
 */
export async function compromise(
  ctx: ControlContext,
  actor: Actor,
  existing: ApiKey,
  reason: string,
  exposure: { audit: AuditInput; exposedAt: number } | null,
): Promise<Compromise> {
  const now = ctx.clock();
  const check = checkKeyTransition(existing, 'revoke', now);
  if (!check.allowed) throw new ControlError('CONFLICT', check.reason);
  const rotated = existing.replacedBy !== null;
  const issued = rotated ? null : issue(ctx, existing);
  const replacement: ApiKey | null = issued && {
    ...existing,
    ...issued.credential,
    id: newId('key', now),
    // A key the exposure policy disabled comes back working as its replacement; one an operator disabled stays disabled.
    enabled: existing.enabled || (await disabledByExposurePolicy(ctx, existing)),
    rotatedFrom: existing.id,
    // The replacement continues the old key's rate limits and quota: one lineage, one budget.
    lineageId: lineageOf(existing),
    replacedBy: null,
    revokedAt: null,
    revokedReason: null,
    exposedAt: null,
    createdAt: now,
    updatedAt: now,
    lastUsedAt: null,
  };
  if (replacement) delete replacement.lastUsedFrom;
  const revoked: ApiKey = {
    ...existing,
    exposedAt: exposure?.exposedAt ?? existing.exposedAt ?? null,
    revokedAt: now,
    revokedReason: reason,
    replacedBy: replacement?.id ?? existing.replacedBy,
    updatedAt: changedAt(now, existing),
  };
  const revokedView = keyRecordView(revoked);
  const replacementView = replacement && keyRecordView(replacement);
  const audits = (tokens: readonly string[]): AuditInput[] => [
    ...(exposure ? [exposure.audit] : []),
    {
      ...actor,
      action: 'key.compromised',
      targetType: 'key',
      targetId: existing.id,
      ...auditedChange(keyRecordView, existing, revoked),
      after: { ...revokedView, compromise: { reason, replacement: replacementView, revokedTokens: tokens } },
      events: [
        { type: 'key.revoked', data: { key: revokedView, reason } },
        {
          type: 'key.compromised',
          data: { key: revokedView, reason, replacement: replacementView, successorId: rotated ? existing.replacedBy : null, tokensRevoked: tokens.length },
        },
      ],
    },
  ];
  // Stored only over the key as read: the replacement copies it (enabled, access), so a change made
  // since (an operator's disable) must not be undone in the replacement (409, read it again).
  const done = await ctx.store.keys.compromise({ revoked, replacement }, audits, existing.updatedAt);
  if (!done) throw await refusedKeyWrite(ctx, existing.id);
  ctx.changes.publish({ type: 'key.changed', keyId: existing.id });
  // This node's revocation list refuses the tokens at once; other nodes read them at their next poll.
  for (const jti of done.revokedTokens) ctx.changes.publish({ type: 'token.revoked', kind: 'token', id: jti });
  return { key: revoked, replacement: replacement && { key: replacement, secret: issued!.secret }, revokedTokens: done.revokedTokens };
}

function issue(ctx: ControlContext, key: ApiKey) {
  const { secret, start } = generateKey(key.publishable ? 'publishable' : 'api', key.environment);
  const pepper = ctx.peppers[0]!;
  return { secret, credential: { start, hash: hashKey(secret, pepper), pepperId: pepper.id } };
}

/**
 * Whether the key is disabled because the exposure policy disabled it (its latest `enabled` change was
 * a `key.exposed` report that disabled it), rather than by an operator. Both kinds of entry are rare
 * for one key, so the newest page of each is enough.
 */
async function disabledByExposurePolicy(ctx: ControlContext, key: ApiKey): Promise<boolean> {
  if (key.enabled || !key.exposedAt) return false;
  const [exposed, disabled] = await Promise.all([
    ctx.store.audit.list({ targetId: key.id, action: 'key.exposed', limit: 50 }),
    ctx.store.audit.list({ targetId: key.id, action: 'key.disabled', limit: 1 }),
  ]);
  const byPolicy = exposed.items.find((e) => (e.after as { exposure?: { action?: string } } | null)?.exposure?.action === 'disable');
  return byPolicy !== undefined && (disabled.items[0] === undefined || disabled.items[0].at <= byPolicy.at);
}
