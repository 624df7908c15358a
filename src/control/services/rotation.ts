import { lineageOf, type ApiKey, type AuditInput } from '../../domain/entities.ts';
import type { EventInput } from '../../domain/events.ts';
import { drainDecision, rotationExpiryAt, rotationNoticeDedupeKey, rotationStep, type RotationSchedule } from '../../domain/rotation.ts';
import type { RotationCandidate } from '../../store/port.ts';
import { iso, type Actor, type ControlContext } from '../context.ts';
import { auditedChange } from './audit-change.ts';
import { workingSuccessor } from './compromise.ts';
import { changedAt, keyRecordView, revocation } from './keys.ts';

/** Changes the rotation tasks make are Gatehouse's own. */
const SYSTEM: Actor = { actor: 'system', requestId: null };

export interface RotationScanPart {
  announced: string[];
  expired: string[];
  /** Where the next part resumes; null: this part reached the last key. */
  nextCursor: string | null;
}

/**
 * One part of the rotation scan (docs/rotation.md): the next `limit` keys by id after `cursor`; each
 * with a rule is announced (`key.rotation_due`, once per due date) from `noticeDays` before it is
 * due, and, when the rule has a grace, expired once the grace after both due date and notice is over.
 */
export async function scanRotationPart(ctx: ControlContext, cursor: string, limit: number): Promise<RotationScanPart> {
  const { items, nextCursor } = await ctx.store.keyRotation.scan(cursor, limit);
  const announced: string[] = [];
  const expired: string[] = [];
  for (const candidate of items) {
    const now = ctx.clock();
    const step = rotationStep(candidate.key, candidate.rule, candidate.notice, now);
    if (step.step === 'announce' && (await announce(ctx, candidate, step.schedule, now))) announced.push(candidate.key.id);
    if (step.step === 'expire' && (await expireOverdue(ctx, candidate, step.schedule, step.graceEndedAt))) expired.push(candidate.key.id);
  }
  return { announced, expired, nextCursor };
}

/** Records the notice and its `key.rotation_due` event together; false when this due date was announced before. */
async function announce(ctx: ControlContext, { key }: RotationCandidate, schedule: RotationSchedule, now: number): Promise<boolean> {
  const notice = { dueAt: schedule.dueAt, at: now };
  const event: EventInput = {
    type: 'key.rotation_due',
    data: {
      key: keyRecordView(key),
      rotation: {
        dueAt: iso(schedule.dueAt),
        periodDays: schedule.periodDays,
        noticeDays: schedule.noticeDays,
        // When the key will be expired if it is not rotated: the grace counts from the due date and from this notice.
        expiresAt: iso(rotationExpiryAt(schedule, notice)),
      },
    },
    dedupeKey: rotationNoticeDedupeKey(key.id, schedule.dueAt),
  };
  return ctx.store.keyRotation.recordNotice(key.id, notice, event);
}

/**
 * Expires a key whose rotation is overdue past its grace: an audited change of its expiry to now,
 * with the reason. The key is read again first, so an edit made since the scan read it is kept and a
 * key rotated, revoked or expired meanwhile is left alone.
 */
async function expireOverdue(ctx: ControlContext, candidate: RotationCandidate, schedule: RotationSchedule, graceEndedAt: number): Promise<boolean> {
  const existing = await ctx.store.keys.get(candidate.key.id);
  const now = ctx.clock();
  if (!existing || rotationStep(existing, candidate.rule, candidate.notice, now).step !== 'expire') return false;
  const key: ApiKey = { ...existing, expiresAt: now, updatedAt: changedAt(now, existing) };
  const change = auditedChange(keyRecordView, existing, key);
  const reason = `not rotated: due at ${iso(schedule.dueAt)} (every ${schedule.periodDays} days), grace of ${schedule.graceDays} days ended at ${iso(graceEndedAt)}`;
  const audit: AuditInput = {
    ...SYSTEM,
    action: 'key.rotation_expired',
    targetType: 'key',
    targetId: key.id,
    before: change.before,
    after: { ...change.after, reason },
  };
  if (!(await ctx.store.keys.update(key, audit, existing.updatedAt))) return false;
  ctx.changes.publish({ type: 'key.changed', keyId: key.id });
  return true;
}

export interface DrainRound {
  /** Keys retiring when drained, still inside their grace period, that were looked at. */
  checked: number;
  retired: string[];
}

/** Keys looked at per store read in a drain round. */
const DRAIN_PAGE = 200;

/**
 * Revokes (reason "drained") every rotated key set to retire when drained that no request has used
 * for its quiet period, while another key of its line works (compromise.ts workingSuccessor: enabled too). A use is its `lastUsedAt` as flushed, or counted and not flushed yet on this
 * node (the usage recorder's pending counts); `unseenMs` is how late a use can reach the recorder
 * (gateway workers hand theirs over every usage flush interval), added to the quiet period.
 */
export async function retireDrainedKeys(ctx: ControlContext, unseenMs: number): Promise<DrainRound> {
  const retired: string[] = [];
  let checked = 0;
  let cursor: string | undefined;
  do {
    const page = await ctx.store.keyRotation.draining(ctx.clock(), { limit: DRAIN_PAGE, cursor });
    for (const key of page.items) {
      checked += 1;
      if (await retireIfDrained(ctx, key, unseenMs)) retired.push(key.id);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return { checked, retired };
}

async function retireIfDrained(ctx: ControlContext, key: ApiKey, unseenMs: number): Promise<boolean> {
  if (!key.retireWhenDrained) return false;
  const pending = ctx.usage.pending(key.id, lineageOf(key));
  const lastUsedAt = Math.max(key.lastUsedAt ?? 0, pending.lastUsedAt ?? 0) || null;
  const decision = drainDecision(key.retireWhenDrained, lastUsedAt, ctx.clock(), unseenMs);
  if (!decision.retire) return false;
  // Never the line's last working key: a successor revoked, expired, deleted or disabled since replaces
  // nothing (the key works on until its grace period ends; enabling the successor, or rotating or
  // compromising a key whose successor is out of use, gives a working one).
  const now = ctx.clock();
  const successor = key.replacedBy === null ? null : await workingSuccessor(ctx, key.replacedBy, now);
  if (!successor) return false;
  // A rotating key may be revoked (domain/key-lifecycle.ts): retiring early is revoking, as by hand.
  // The store checks again, in the revoke's transaction, that the successor works and the key is as
  // read: one revoked or disabled since the check above must not leave the line without a working key.
  const { key: revoked, audit } = revocation(SYSTEM, key, 'drained', now);
  if (!(await ctx.store.keys.revokeWhileWorking(revoked, successor.id, audit, key.updatedAt))) return false;
  ctx.changes.publish({ type: 'key.changed', keyId: key.id });
  return true;
}
