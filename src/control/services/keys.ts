import { lineageOf, type ApiKey, type AuditInput } from '../../domain/entities.ts';
import { newId } from '../../domain/ids.ts';
import { findBySecret, hashKey } from '../../domain/key-hash.ts';
import { effectiveSettings } from '../../domain/key-decision.ts';
import { generateKey } from '../../domain/key-format.ts';
import { checkKeyTransition, keyState, type KeyAction } from '../../domain/key-lifecycle.ts';
import { periodWindow } from '../../domain/quota-period.ts';
import { effectiveRotation, isRotationDue, rotationSchedule } from '../../domain/rotation.ts';
import type { KeyListQuery, Page } from '../../store/port.ts';
import type { KeyRecordView, KeyView } from '../admin/responses.ts';
import { MAX_ROTATION_GRACE_SECONDS, type KeyCreateInput, type KeyPatchInput } from '../../domain/inputs/resources.ts';
import { ControlError, iso, notFound, requireFound, type Actor, type ControlContext } from '../context.ts';
import { auditedChange } from './audit-change.ts';
import { disabledByExposurePolicy, expiryBeforeRotation, successorInUse } from './compromise.ts';
import { markExposed } from './exposure.ts';
import { conflictAware } from './resource.ts';
import { mergeSettings, EMPTY_SETTINGS, settingsView, validateSettings } from './settings.ts';

function auditEntry(actor: Actor, action: string, before: ApiKey | null, after: ApiKey | null): AuditInput {
  return { ...actor, action: `key.${action}`, targetType: 'key', targetId: (after ?? before)!.id, ...auditedChange(keyRecordView, before, after) };
}

/**
 * The entry under a key made in another's place (a rotation's successor, a compromise's replacement),
 * written with the change that makes it: without it, the log filtered by the new key's id would not
 * say how the key came to be. No event: the change's own (`key.rotated`, `key.compromised`) announces it.
 */
export function keyMadeAudit(
  actor: Actor,
  key: ApiKey,
  made: { via: 'rotation' | 'compromise'; predecessorId: string; reason?: string; supersededSuccessorId?: string },
): AuditInput {
  return { ...auditEntry(actor, 'created', null, key), after: { ...keyRecordView(key), ...made } };
}

/** The audit entry of a key deleted (with its app, by the portal: KeyRepo.deleteAppWithRetiredKeys). */
export const keyDeletedAudit = (actor: Actor, key: ApiKey): AuditInput => auditEntry(actor, 'deleted', key, null);

/** A key as the admin API shows it and the audit log records it: never the hash; no derived status or usage. */
export function keyRecordView(key: ApiKey): KeyRecordView {
  return {
    id: key.id,
    appId: key.appId,
    policyId: key.policyId,
    name: key.name,
    environment: key.environment,
    start: key.start,
    enabled: key.enabled,
    expiresAt: iso(key.expiresAt),
    revokedAt: iso(key.revokedAt),
    revokedReason: key.revokedReason,
    exposedAt: iso(key.exposedAt ?? null),
    certificateThumbprint: key.certificateThumbprint ?? null,
    ...(key.publishable ? { publishable: true, allowedOrigins: key.allowedOrigins ?? [] } : {}),
    rotatedFrom: key.rotatedFrom,
    replacedBy: key.replacedBy,
    ...(key.retireWhenDrained
      ? { retireWhenDrained: { quietPeriodSeconds: key.retireWhenDrained.quietPeriodSeconds, rotatedAt: iso(key.retireWhenDrained.rotatedAt) } }
      : {}),
    ...settingsView(key),
    metadata: key.metadata,
    createdAt: iso(key.createdAt),
    updatedAt: iso(key.updatedAt),
  };
}

async function getKey(ctx: ControlContext, id: string): Promise<ApiKey> {
  return requireFound(await ctx.store.keys.get(id), 'key', id);
}

/** Refuses (409) any action the key's state does not allow: domain/key-lifecycle.ts is the one table. */
function requireTransition(key: ApiKey, actions: readonly KeyAction[], now: number): void {
  for (const action of actions) {
    const check = checkKeyTransition(key, action, now);
    if (!check.allowed) throw new ControlError('CONFLICT', check.reason);
  }
}

/** Which transitions a patch asks for: each field it changes maps to one. */
function patchActions(existing: ApiKey, patch: KeyPatchInput): KeyAction[] {
  const actions: KeyAction[] = ['edit'];
  if (patch.enabled !== undefined && patch.enabled !== existing.enabled) actions.push(patch.enabled ? 'enable' : 'disable');
  if (patch.expiresAt !== undefined || patch.expiresInSeconds !== undefined) actions.push('changeExpiry');
  return actions;
}

/**
 * Checks a key's references; with `requireAccess`, also that the key works on some API (its own
 * access rules, else its policy's: domain/key-decision.ts). A key without any would be refused
 * everywhere, silently: it is refused here instead, with how to grant access.
 */
async function validateReferences(
  ctx: ControlContext,
  key: Pick<ApiKey, 'appId' | 'policyId'> & Parameters<typeof validateSettings>[1],
  requireAccess: boolean,
) {
  if (!(await ctx.store.apps.get(key.appId)))
    throw new ControlError('VALIDATION_FAILED', 'the key names an unknown app', { appId: `no app with id ${key.appId}` });
  const policy = key.policyId ? await ctx.store.policies.get(key.policyId) : null;
  if (key.policyId && !policy) {
    throw new ControlError('VALIDATION_FAILED', 'the key names an unknown policy', { policyId: `no policy with id ${key.policyId}` });
  }
  await validateSettings(ctx, key);
  if (requireAccess && !effectiveSettings(key, policy).access?.length) {
    throw new ControlError(
      'VALIDATION_FAILED',
      `the key works on no API: give it access to one, or a policy that grants access${policy ? ` (policy ${policy.id} grants none)` : ''}`,
      {
        access: 'access rules naming the APIs it may call, e.g. [{"apiId": "api_..."}] (CLI: --api NAME)',
        policyId: 'or a policy whose access names an API (CLI: --policy NAME)',
      },
    );
  }
}

function expiryFrom(input: { expiresAt?: string | null | undefined; expiresInSeconds?: number | undefined }, now: number): number | null | undefined {
  if (input.expiresAt !== undefined && input.expiresInSeconds !== undefined) {
    throw new ControlError('VALIDATION_FAILED', 'give expiresAt or expiresInSeconds, not both', { expiresInSeconds: 'conflicts with expiresAt' });
  }
  if (input.expiresInSeconds !== undefined) return now + input.expiresInSeconds * 1000;
  if (input.expiresAt === undefined) return undefined;
  if (input.expiresAt === null) return null;
  const at = Date.parse(input.expiresAt);
  if (at <= now) throw new ControlError('VALIDATION_FAILED', 'the expiry is in the past', { expiresAt: 'must be in the future' });
  return at;
}

function issue(ctx: ControlContext, environment: ApiKey['environment'], kind: 'api' | 'publishable' = 'api') {
  const { secret, start } = generateKey(kind, environment);
  const pepper = ctx.peppers[0]!;
  return { secret, start, hash: hashKey(secret, pepper), pepperId: pepper.id };
}

/**
 * Why the store refused a key's write: the key is gone (404), or another change was stored after it
 * was read here (409): the store writes a change only over the key it was made from (KeyRepo.update),
 * so a change made from an older read is not applied over a newer one (a disable, a revocation).
 */
export async function refusedKeyWrite(ctx: ControlContext, id: string): Promise<ControlError> {
  if (!(await ctx.store.keys.get(id))) return notFound('key', id);
  return new ControlError('CONFLICT', 'the key was changed by another request while this change was being made; nothing was changed: read it again');
}

/**
 * The time a change to a key is stored with: now, and always after the key as read, so that no two
 * stored versions of a key share an `updatedAt` (the store compares it: KeyRepo.update's `readAt`).
 */
export const changedAt = (now: number, existing: ApiKey): number => Math.max(now, existing.updatedAt + 1);

/**
 * The earlier key of `key`'s lineage still in its grace period, if any: a rotation with a grace would
 * then leave a third key of one lineage working, and is refused (409 ROTATION_IN_PROGRESS, rotationCheck). A rotation replaces a key, it does not add
 * one (the portal lets a developer at `maxKeysPerApp` rotate), so each lineage has one rotation in grace
 * at a time; a grace period of 0 ends the key at once and adds nothing. The earlier keys are its
 * predecessors, through revoked ones too (a compromise's replacement continues the lineage while a key
 * before the compromised one may still be in its grace); the walk stops where no grace can reach now.
 */
async function earlierKeyInGrace(ctx: ControlContext, key: ApiKey, now: number): Promise<ApiKey | null> {
  for (let from = key; from.rotatedFrom !== null && from.createdAt > now - MAX_ROTATION_GRACE_SECONDS * 1000;) {
    const earlier = await ctx.store.keys.get(from.rotatedFrom);
    // A key an operator deleted ends the walk back, not the lineage: a key before it may still be
    // in its grace, and the store finds it by lineage (a key in grace that was deleted is none).
    if (!earlier) return ctx.store.keys.inGrace(lineageOf(from), now, key.id);
    if (keyState(earlier, now) === 'rotating') return earlier;
    from = earlier;
  }
  return null;
}

/**
 * Whether `existing` may be rotated now with this grace period, as keysService.rotate decides it; the
 * portal shows it beside each key so that a developer is not offered a rotation that would be refused.
 * `blockedBy`: the key that stands in the way (the successor to rotate instead, or the earlier key in
 * its grace), when one does. `supersedes`: a dead successor the rotation replaces (KeyRepo.rotate).
 */
export type RotationCheck =
  { allowed: true; supersedes: string | undefined } | { allowed: false; code: 'CONFLICT' | 'ROTATION_IN_PROGRESS'; reason: string; blockedBy: ApiKey | null };

export async function rotationCheck(ctx: ControlContext, existing: ApiKey, gracePeriodSeconds: number, now: number): Promise<RotationCheck> {
  // A key in its grace whose successor (and every later key of the line) was revoked, expired or
  // deleted since is the line's last working key: it is rotated again, its new successor superseding the dead one.
  let supersedes: string | undefined;
  if (existing.replacedBy !== null && existing.revokedAt === null) {
    // The key to rotate is the newest one of the line in use: never one revoked, expired or deleted
    // since. A disabled one counts (successorInUse): it could be enabled beside a new successor.
    const working = await successorInUse(ctx, existing.replacedBy, now);
    if (working) return { allowed: false, code: 'CONFLICT', reason: `this key was already rotated; rotate its successor ${working.id}`, blockedBy: working };
    if (keyState(existing, now) !== 'rotating') {
      const reason =
        `this key was already rotated, and its successor ${existing.replacedBy} no longer works (revoked, expired or deleted), ` +
        'and this key no longer works either (its grace period is over): create a new key';
      return { allowed: false, code: 'CONFLICT', reason, blockedBy: null };
    }
    supersedes = existing.replacedBy;
  } else {
    const transition = checkKeyTransition(existing, 'rotate', now);
    if (!transition.allowed) return { allowed: false, code: 'CONFLICT', reason: transition.reason, blockedBy: null };
  }
  const earlier = gracePeriodSeconds > 0 ? await earlierKeyInGrace(ctx, existing, now) : null;
  if (earlier) {
    const reason =
      `key ${earlier.id} of this key's lineage still works until ${iso(earlier.expiresAt)} (its rotation grace period): ` +
      'a second rotation would leave three keys working. Wait for it to end, revoke that key to end it now, or rotate with a grace period of 0';
    return { allowed: false, code: 'ROTATION_IN_PROGRESS', reason, blockedBy: earlier };
  }
  return { allowed: true, supersedes };
}

/** A key revoked at `now`, with its audit entry and `key.revoked` event: by hand, or by the drain task (rotation.ts). */
export function revocation(actor: Actor, existing: ApiKey, reason: string, now: number): { key: ApiKey; audit: AuditInput } {
  const key: ApiKey = { ...existing, revokedAt: now, revokedReason: reason, updatedAt: changedAt(now, existing) };
  return { key, audit: { ...auditEntry(actor, 'revoked', existing, key), events: [{ type: 'key.revoked', data: { key: keyRecordView(key), reason } }] } };
}

export const keyLimitReached = (maxInUse: number): ControlError =>
  new ControlError('LIMIT_REACHED', `an app may have at most ${maxInUse} keys in use: revoke one first`);

function changed(ctx: ControlContext, key: ApiKey): void {
  ctx.changes.publish({ type: 'key.changed', keyId: key.id });
}

export const keysService = {
  get: getKey,

  list(ctx: ControlContext, query: Omit<KeyListQuery, 'now'>): Promise<Page<ApiKey>> {
    return ctx.store.keys.list({ ...query, now: ctx.clock() });
  },

  /**
   * Returns the secret: the only time it exists outside the caller's hands. With `maxInUse` (the
   * portal's `maxKeysPerApp`), refused (409 LIMIT_REACHED) when the app has that many keys in use,
   * counted by the store with the insert (KeyRepo.createWithin): concurrent creates cannot pass it.
   */
  async create(ctx: ControlContext, actor: Actor, input: KeyCreateInput, maxInUse?: number): Promise<{ key: ApiKey; secret: string }> {
    const now = ctx.clock();
    if (input.publishable && !input.allowedOrigins?.length) {
      throw new ControlError('VALIDATION_FAILED', 'a publishable key needs the origins it may be used from', { allowedOrigins: 'at least one origin' });
    }
    const { secret, ...credential } = issue(ctx, input.environment, input.publishable ? 'publishable' : 'api');
    const key: ApiKey = {
      id: newId('key', now),
      appId: input.appId,
      policyId: input.policyId,
      name: input.name,
      environment: input.environment,
      ...credential,
      enabled: input.enabled,
      expiresAt: expiryFrom(input, now) ?? null,
      revokedAt: null,
      revokedReason: null,
      rotatedFrom: null,
      replacedBy: null,
      metadata: input.metadata,
      certificateThumbprint: input.certificateThumbprint,
      ...(input.publishable ? { publishable: true, allowedOrigins: input.allowedOrigins! } : {}),
      ...mergeSettings(EMPTY_SETTINGS, input),
      createdAt: now,
      updatedAt: now,
      lastUsedAt: null,
    };
    await validateReferences(ctx, key, true);
    const created = { ...auditEntry(actor, 'created', null, key), events: [{ type: 'key.created' as const, data: { key: keyRecordView(key) } }] };
    if (maxInUse === undefined) await conflictAware('key', () => ctx.store.keys.create(key, created));
    else if (!(await conflictAware('key', () => ctx.store.keys.createWithin(key, created, maxInUse, now)))) throw keyLimitReached(maxInUse);
    return { key, secret };
  },

  async update(ctx: ControlContext, actor: Actor, id: string, patch: KeyPatchInput): Promise<ApiKey> {
    const existing = await getKey(ctx, id);
    const now = ctx.clock();
    requireTransition(existing, patchActions(existing, patch), now);
    const expiresAt = expiryFrom(patch, now);
    const key: ApiKey = {
      ...existing,
      name: patch.name ?? existing.name,
      policyId: patch.policyId === undefined ? existing.policyId : patch.policyId,
      enabled: patch.enabled ?? existing.enabled,
      expiresAt: expiresAt === undefined ? existing.expiresAt : expiresAt,
      metadata: patch.metadata ?? existing.metadata,
      certificateThumbprint: patch.certificateThumbprint === undefined ? (existing.certificateThumbprint ?? null) : patch.certificateThumbprint,
      ...(existing.publishable ? { allowedOrigins: patch.allowedOrigins ?? existing.allowedOrigins ?? [] } : {}),
      ...mergeSettings(existing, patch),
      updatedAt: changedAt(now, existing),
    };
    // Only a patch that changes what the key may reach is checked: a key made before this rule can still be renamed.
    await validateReferences(ctx, key, patch.access !== undefined || patch.policyId !== undefined);
    const action = patch.enabled === undefined || patch.enabled === existing.enabled ? 'updated' : patch.enabled ? 'enabled' : 'disabled';
    if (!(await ctx.store.keys.update(key, auditEntry(actor, action, existing, key), existing.updatedAt))) throw await refusedKeyWrite(ctx, id);
    changed(ctx, key);
    return key;
  },

  /**
   * A successor with every setting of the old key and a new secret. The old key keeps working for the
   * grace period, never past its own expiry; a grace period of 0 ends it at once. A key the exposure
   * policy disabled gives an enabled successor (its new secret was never exposed): the way out for a
   * portal developer, who cannot enable a key. A key in its grace whose line has no working key left
   * (its successor revoked, expired or deleted since) may be rotated again: its new successor
   * supersedes the dead one (KeyRepo.rotate's `supersedes`), with the lineage's own expiry.
   */
  async rotate(
    ctx: ControlContext,
    actor: Actor,
    id: string,
    gracePeriodSeconds: number,
    /** Retire the old key once no request has used it for this long (docs/rotation.md); the grace period stays its limit. */
    retireWhenDrained?: { quietPeriodSeconds: number },
  ): Promise<{ key: ApiKey; secret: string; previous: ApiKey }> {
    const existing = await getKey(ctx, id);
    const now = ctx.clock();
    if (retireWhenDrained && retireWhenDrained.quietPeriodSeconds >= gracePeriodSeconds) {
      throw new ControlError('VALIDATION_FAILED', 'the quiet period must be shorter than the grace period, which bounds how long the old key works', {
        quietPeriodSeconds: `must be less than gracePeriodSeconds (${gracePeriodSeconds})`,
      });
    }
    const check = await rotationCheck(ctx, existing, gracePeriodSeconds, now);
    if (!check.allowed) throw new ControlError(check.code, check.reason);
    const { supersedes } = check;
    const { secret, ...credential } = issue(ctx, existing.environment, existing.publishable ? 'publishable' : 'api');
    // A key in its grace carries the earlier rotation's drain (retireWhenDrained): neither its successor's nor, again, its own.
    const { retireWhenDrained: _none, ...settings } = existing;
    const successor: ApiKey = {
      ...settings,
      ...credential,
      // A key in its grace carries the earlier rotation's end: its successor takes the lineage's own expiry.
      ...(supersedes ? { expiresAt: await expiryBeforeRotation(ctx, existing, supersedes, now) } : {}),
      id: newId('key', now),
      rotatedFrom: existing.id,
      // The successor continues the old key's rate limits and quota: one lineage, one budget.
      lineageId: lineageOf(existing),
      replacedBy: null,
      // The new secret has not been exposed: a key the exposure policy disabled (for its old secret)
      // comes back working as its successor, as in a compromise; one an operator disabled stays disabled.
      enabled: existing.enabled || (await disabledByExposurePolicy(ctx, existing)),
      exposedAt: null,
      createdAt: now,
      updatedAt: now,
      lastUsedAt: null,
    };
    const graceEnd = now + gracePeriodSeconds * 1000;
    const previous: ApiKey = {
      ...settings,
      replacedBy: successor.id,
      expiresAt: existing.expiresAt === null ? graceEnd : Math.min(existing.expiresAt, graceEnd),
      ...(retireWhenDrained ? { retireWhenDrained: { quietPeriodSeconds: retireWhenDrained.quietPeriodSeconds, rotatedAt: now } } : {}),
      updatedAt: changedAt(now, existing),
    };
    const rotated = {
      previous: keyRecordView(previous),
      successor: keyRecordView(successor),
      ...(supersedes ? { supersededSuccessorId: supersedes } : {}),
    };
    const audit = [
      { ...auditEntry(actor, 'rotated', existing, previous), after: rotated, events: [{ type: 'key.rotated' as const, data: rotated }] },
      keyMadeAudit(actor, successor, { via: 'rotation', predecessorId: existing.id, ...(supersedes ? { supersededSuccessorId: supersedes } : {}) }),
    ];
    if (!(await ctx.store.keys.rotate(previous, successor, audit, existing.updatedAt, supersedes))) throw await refusedKeyWrite(ctx, id);
    changed(ctx, previous);
    return { key: successor, secret, previous };
  },

  /** Effective at once: the change event drops the key from every cache on this node. */
  async revoke(ctx: ControlContext, actor: Actor, id: string, reason: string): Promise<ApiKey> {
    const existing = await getKey(ctx, id);
    const now = ctx.clock();
    requireTransition(existing, ['revoke'], now);
    const { key, audit: revoked } = revocation(actor, existing, reason, now);
    if (!(await ctx.store.keys.update(key, revoked, existing.updatedAt))) throw await refusedKeyWrite(ctx, id);
    changed(ctx, key);
    return key;
  },

  /**
   * Marks the key whose secret this is as exposed (the gateway saw it over plain HTTP or in a query
   * string), once, under the exposure policy (exposure.ts). Unknown secrets are ignored.
   */
  async flagExposed(ctx: ControlContext, secret: string, ip: string, source: 'plain-http' | 'query-string' = 'plain-http'): Promise<ApiKey | null> {
    const existing = await findBySecret(secret, ctx.peppers, (hash) => ctx.store.keys.findByHash(hash));
    if (!existing) return null;
    return (await markExposed(ctx, { actor: 'gateway', requestId: null }, existing, { source, where: ip })).key;
  },

  async delete(ctx: ControlContext, actor: Actor, id: string): Promise<void> {
    const existing = await getKey(ctx, id);
    if (!(await ctx.store.keys.delete(id, (deleted) => auditEntry(actor, 'deleted', deleted, null)))) throw notFound('key', id);
    changed(ctx, existing);
  },

  /** The public view: never the hash; usage includes counts not yet flushed. */
  async view(ctx: ControlContext, key: ApiKey): Promise<KeyView> {
    const now = ctx.clock();
    const pending = ctx.usage.pending(key.id, lineageOf(key));
    const policy = key.policyId ? await ctx.store.policies.get(key.policyId) : null;
    const rule = key.quota ?? policy?.quota ?? null;
    let quota = null;
    if (rule) {
      const window = periodWindow(rule.period, now);
      const used = (await ctx.store.usage.quotaUsed(lineageOf(key), window.id)) + (pending.quota.get(window.id) ?? 0);
      quota = { ...rule, inherited: key.quota === null, used, remaining: Math.max(0, rule.limit - used), resetsAt: iso(window.end) };
    }
    const lastUsedAt = Math.max(key.lastUsedAt ?? 0, pending.lastUsedAt ?? 0) || null;
    // Counts not yet flushed are the newest: their address, else the stored one.
    const lastUsedFrom = (pending.lastUsedAt !== null && pending.lastUsedAt >= (key.lastUsedAt ?? 0) ? pending.lastUsedFrom : null) ?? key.lastUsedFrom ?? null;
    const rotation = rotationSchedule(key, effectiveRotation(key, policy), now);
    return {
      ...keyRecordView(key),
      status: keyStatus(key, now),
      quota,
      lastUsedAt: iso(lastUsedAt),
      lastUsedFrom,
      rotationDueAt: iso(rotation?.dueAt ?? null),
      rotationDue: isRotationDue(rotation, now),
    };
  },
};

/** The status the API shows: a rotating key is still active (or disabled), a rotated-out one expired. */
export function keyStatus(key: ApiKey, now: number): 'active' | 'disabled' | 'expired' | 'revoked' {
  const state = keyState(key, now);
  if (state === 'rotating') return key.enabled ? 'active' : 'disabled';
  return state === 'rotated' ? 'expired' : state;
}
