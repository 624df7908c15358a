import type { ApiKey, Millis } from './entities.ts';
import { keyState } from './key-lifecycle.ts';

/**
 * Rotation hygiene ("rotate API keys periodically"): a policy, or a key of its own, may say how long
 * a secret should live. Pure: no clock, no store; the caller gives `now` and what was announced.
 */
export interface RotationRule {
  /** A key older than this (since its creation; a successor's creation is its rotation) is due. */
  periodDays: number;
  /** `key.rotation_due` is announced this long before the key is due; absent: DEFAULT_NOTICE_DAYS. */
  noticeDays?: number | undefined;
  /**
   * When set, a due key that was not rotated is expired this long after it became due, and never
   * sooner than this long after its notice was announced (a rule added to an old policy gives its
   * keys the whole grace). Absent: due keys keep working.
   */
  expireAfterGraceDays?: number | undefined;
}

export const DAY_MS = 86_400_000;
/** Notice when a rule gives none: a week, or the whole period when it is shorter. */
export const DEFAULT_NOTICE_DAYS = 7;

/** A key's own rule wins whole over its policy's (as every setting: domain/key-decision.ts); null: none. */
export function effectiveRotation(key: { rotation?: RotationRule | null }, policy: { rotation?: RotationRule | null } | null): RotationRule | null {
  return key.rotation ?? policy?.rotation ?? null;
}

export interface RotationSchedule {
  /** When the key becomes `rotation_due`. */
  dueAt: Millis;
  /** When `key.rotation_due` is announced: `noticeDays` before, never before the key existed. */
  noticeAt: Millis;
  periodDays: number;
  noticeDays: number;
  /** Days after due (and after the notice) the key is expired; null: never. */
  graceDays: number | null;
}

type ScheduledKey = Pick<ApiKey, 'createdAt' | 'revokedAt' | 'expiresAt' | 'enabled' | 'replacedBy'>;

/**
 * The key's rotation schedule under `rule`, or null when nothing is due: no rule, or a key that is
 * not in use as itself (revoked, expired, or already rotated: its successor has its own schedule).
 * Disabled keys are scheduled: their secret ages all the same.
 */
export function rotationSchedule(key: ScheduledKey, rule: RotationRule | null, now: Millis): RotationSchedule | null {
  if (rule === null) return null;
  const state = keyState(key, now);
  if (state !== 'active' && state !== 'disabled') return null;
  const dueAt = key.createdAt + rule.periodDays * DAY_MS;
  const noticeDays = Math.min(rule.noticeDays ?? DEFAULT_NOTICE_DAYS, rule.periodDays);
  return {
    dueAt,
    noticeAt: Math.max(key.createdAt, dueAt - noticeDays * DAY_MS),
    periodDays: rule.periodDays,
    noticeDays,
    graceDays: rule.expireAfterGraceDays ?? null,
  };
}

/** Whether the key is `rotation_due` at `now`. */
export const isRotationDue = (schedule: RotationSchedule | null, now: Millis): boolean => schedule !== null && schedule.dueAt <= now;

/** The announcement recorded for a key: for which due date, and when. */
export interface RotationNotice {
  dueAt: Millis;
  at: Millis;
}

/** When a due key is expired: `graceDays` after it became due, and after its notice for this due date. Null: never, or not announced yet. */
export function rotationExpiryAt(schedule: RotationSchedule, notice: RotationNotice | null): Millis | null {
  if (schedule.graceDays === null || notice === null || notice.dueAt !== schedule.dueAt) return null;
  return Math.max(schedule.dueAt, notice.at) + schedule.graceDays * DAY_MS;
}

/** What the periodic scan does for one key: nothing, announce that it is (about to be) due, or expire it. */
export type RotationStep =
  { step: 'none' } | { step: 'announce'; schedule: RotationSchedule } | { step: 'expire'; schedule: RotationSchedule; graceEndedAt: Millis };

export function rotationStep(key: ScheduledKey, rule: RotationRule | null, notice: RotationNotice | null, now: Millis): RotationStep {
  const schedule = rotationSchedule(key, rule, now);
  if (schedule === null || now < schedule.noticeAt) return { step: 'none' };
  // Announced once per key and due date: a changed rule (or a rotation) makes a new due date.
  if (notice === null || notice.dueAt !== schedule.dueAt) return { step: 'announce', schedule };
  const expireAt = rotationExpiryAt(schedule, notice);
  if (expireAt !== null && expireAt <= now) return { step: 'expire', schedule, graceEndedAt: expireAt };
  return { step: 'none' };
}

/** The dedupe key of a key's `key.rotation_due` event: once per key and due date, ever. */
export const rotationNoticeDedupeKey = (keyId: string, dueAt: Millis): string => `key.rotation_due:${keyId}:${dueAt}`;

/**
 * A rotated key set to retire once its traffic has drained: no use for `quietPeriodSeconds`,
 * counted from its rotation or its last use, whichever is later.
 */
export interface RetireWhenDrained {
  quietPeriodSeconds: number;
  rotatedAt: Millis;
}

/** How long a key retiring when drained must go unused when the rotation names no quiet period. */
export const DEFAULT_QUIET_PERIOD_SECONDS = 600;

export type DrainDecision = { retire: true; quietSince: Millis } | { retire: false; quietUntil: Millis };

/**
 * Whether a draining key may be retired now. `lastUsedAt` is the latest use known (flushed or
 * pending); `unseenMs` is how late a use may still arrive (gateway workers hand their counts over
 * every flush interval), so a use not yet handed over can never let a key retire.
 */
export function drainDecision(retire: RetireWhenDrained, lastUsedAt: Millis | null, now: Millis, unseenMs = 0): DrainDecision {
  const quietSince = Math.max(retire.rotatedAt, lastUsedAt ?? 0);
  const quietUntil = quietSince + retire.quietPeriodSeconds * 1000 + unseenMs;
  return now >= quietUntil ? { retire: true, quietSince } : { retire: false, quietUntil };
}
