import { lineageOf, type ApiKey, type AuditInput } from '../../domain/entities.ts';
import { newId } from '../../domain/ids.ts';
import { generateKey } from '../../domain/key-format.ts';
import { hashKey } from '../../domain/key-hash.ts';
import { disabledSuccessorWhy } from '../../domain/exposure-policy.ts';
import { checkKeyTransition, keyInUse, keyState, keyWorks } from '../../domain/key-lifecycle.ts';
import { ControlError, requireFound, type Actor, type ControlContext } from '../context.ts';
import { auditedChange } from './audit-change.ts';
import { changedAt, keyMadeAudit, keyRecordView, refusedKeyWrite } from './keys.ts';

/** What a compromise did: the revoked key, its replacement with the new secret (shown once), the tokens revoked. */
export interface Compromise {
  key: ApiKey;
  /** null when the key had been rotated already and its successor still works: that successor (whose secret this leak did not reveal) replaces it. */
  replacement: { key: ApiKey; secret: string } | null;
  /** The successor in use that stands in the key's place when no replacement was issued (`replacement` null); else null. */
  successor: ApiKey | null;
  /**
   * Whether that successor works (false: it is disabled, so no key of the line works until it is
   * enabled or replaced); null without one. `successorNote` then says why and what to do.
   */
  successorWorks: boolean | null;
  successorNote: string | null;
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
  // A rotated key's successor replaces it only while that successor (or the key it was rotated to
  // in turn) is still in use: one revoked, expired or deleted meanwhile is superseded by a replacement.
  const successor = existing.replacedBy === null ? null : await successorInUse(ctx, existing.replacedBy, now);
  const supersedes = existing.replacedBy !== null && successor === null ? existing.replacedBy : null;
  // A disabled successor is not superseded (it could be enabled beside a replacement): the key is
  // revoked all the same, and the answer, the audit entry and the event say the line has no working key.
  const successorWorks = successor ? keyWorks(successor, now) : null;
  const successorNote = successor && !successorWorks ? await disabledSuccessorNote(ctx, successor) : null;
  const issued = successor ? null : issue(ctx, existing);
  // A key in its grace carries the rotation's end (expiresAt) and drain (retireWhenDrained): its
  // replacement takes the lineage's own expiry instead, and is not retired when drained.
  const { retireWhenDrained: _drain, ...settings } = existing;
  const replacement: ApiKey | null = issued && {
    ...settings,
    ...issued.credential,
    expiresAt: supersedes ? await expiryBeforeRotation(ctx, existing, supersedes, now) : existing.expiresAt,
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
  // What the audit entry and the key.compromised event both say of the key's line.
  const line = {
    replacement: replacementView,
    successorId: successor?.id ?? null,
    successorWorks,
    ...(successorNote ? { successorNote } : {}),
    ...(supersedes ? { supersededSuccessorId: supersedes } : {}),
  };
  const audits = (tokens: readonly string[]): AuditInput[] => [
    ...(exposure ? [exposure.audit] : []),
    {
      ...actor,
      action: 'key.compromised',
      targetType: 'key',
      targetId: existing.id,
      ...auditedChange(keyRecordView, existing, revoked),
      after: {
        ...revokedView,
        compromise: { reason, ...line, revokedTokens: tokens },
      },
      events: [
        { type: 'key.revoked', data: { key: revokedView, reason } },
        {
          type: 'key.compromised',
          data: {
            key: revokedView,
            reason,
            ...line,
            tokensRevoked: tokens.length,
          },
        },
      ],
    },
    ...(replacement
      ? [
          keyMadeAudit(actor, replacement, {
            via: 'compromise',
            predecessorId: existing.id,
            reason,
            ...(supersedes ? { supersededSuccessorId: supersedes } : {}),
          }),
        ]
      : []),
  ];
  // Stored only over the key as read: the replacement copies it (enabled, access), so a change made
  // since (an operator's disable) must not be undone in the replacement (409, read it again).
  const done = await ctx.store.keys.compromise({ revoked, replacement, ...(supersedes ? { supersedes } : {}) }, audits, existing.updatedAt);
  if (!done) throw await refusedKeyWrite(ctx, existing.id);
  ctx.changes.publish({ type: 'key.changed', keyId: existing.id });
  // This node's revocation list refuses the tokens at once; other nodes read them at their next poll.
  for (const jti of done.revokedTokens) ctx.changes.publish({ type: 'token.revoked', kind: 'token', id: jti });
  return {
    key: revoked,
    replacement: replacement && { key: replacement, secret: issued!.secret },
    successor,
    successorWorks,
    successorNote,
    revokedTokens: done.revokedTokens,
  };
}

/**
 * What a compromise that issued no replacement says about the line's disabled successor: no key works,
 * and the way to one. One the exposure policy disabled has its own secret out: it is to be replaced, not enabled.
 */
async function disabledSuccessorNote(ctx: ControlContext, successor: ApiKey): Promise<string> {
  const way = (await disabledByExposurePolicy(ctx, successor))
    ? `its own secret was reported exposed: report it compromised for a working replacement (gatehouse keys compromised ${successor.id} --reason TEXT)`
    : `enable it if it is safe (gatehouse keys enable ${successor.id}), else report it compromised for a replacement`;
  return `${disabledSuccessorWhy(successor.id)}; ${way}`;
}

/**
 * The expiry a rotated key had before its rotation cut it to the grace period's end, which its successor
 * carries on (with any change made to it since): the stored successor's, else (deleted) the one its
 * `key.rotated` entry recorded. Past already (the lineage has ended), or not found: the key's own.
 */
export async function expiryBeforeRotation(ctx: ControlContext, key: ApiKey, successorId: string, now: number): Promise<number | null> {
  const stored = await ctx.store.keys.get(successorId);
  let expiresAt: number | null | undefined = stored?.expiresAt;
  if (!stored) {
    const rotated = (await ctx.store.audit.list({ targetId: key.id, action: 'key.rotated', limit: 1 })).items[0];
    const recorded = (rotated?.after as { successor?: { id?: string; expiresAt?: string | null } } | null)?.successor;
    if (recorded?.id === successorId && recorded.expiresAt !== undefined) expiresAt = recorded.expiresAt === null ? null : Date.parse(recorded.expiresAt);
  }
  return expiresAt === undefined || (expiresAt !== null && expiresAt <= now) ? key.expiresAt : expiresAt;
}

/**
 * The key of a rotated key's line clients can use now (keyWorks: in use and enabled): its successor,
 * else, when the successor was rotated in turn or compromised and replaced, the key after it, and so
 * on; null when the line ends in a key revoked, expired, deleted or disabled. A drained key is retired only for one.
 */
export const workingSuccessor = (ctx: ControlContext, id: string, now: number): Promise<ApiKey | null> => lastOfLine(ctx, id, now, keyWorks);

/**
 * As workingSuccessor, with a disabled successor counted (keyInUse): what a rotation or compromise
 * may not replace. A disabled successor can be enabled again, so superseding it would leave two keys
 * of one line that work (the store supersedes only a successor out of use).
 */
export const successorInUse = (ctx: ControlContext, id: string, now: number): Promise<ApiKey | null> => lastOfLine(ctx, id, now, keyInUse);

/**
 * Follows `replacedBy` from `id` to the line's last key and answers it if `test` holds. A missing key
 * ends the line, and so does a revoked one that names no key after it; one that does (a compromised
 * key's replacement, a rotated key's successor) is passed, as a rotated key is: its line goes on there.
 */
async function lastOfLine(ctx: ControlContext, id: string, now: number, test: (key: ApiKey, now: number) => boolean): Promise<ApiKey | null> {
  for (const seen = new Set<string>(); !seen.has(id);) {
    seen.add(id);
    const key = await ctx.store.keys.get(id);
    if (!key) return null;
    if (key.replacedBy === null) return keyState(key, now) !== 'revoked' && test(key, now) ? key : null;
    id = key.replacedBy;
  }
  return null;
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
export async function disabledByExposurePolicy(ctx: ControlContext, key: ApiKey): Promise<boolean> {
  if (key.enabled || !key.exposedAt) return false;
  const [exposed, disabled] = await Promise.all([
    ctx.store.audit.list({ targetId: key.id, action: 'key.exposed', limit: 50 }),
    ctx.store.audit.list({ targetId: key.id, action: 'key.disabled', limit: 1 }),
  ]);
  const byPolicy = exposed.items.find((e) => (e.after as { exposure?: { action?: string } } | null)?.exposure?.action === 'disable');
  return byPolicy !== undefined && (disabled.items[0] === undefined || disabled.items[0].at <= byPolicy.at);
}
