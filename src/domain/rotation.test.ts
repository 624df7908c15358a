import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DAY_MS, drainDecision, effectiveRotation, isRotationDue, rotationSchedule, rotationStep, type RotationRule } from './rotation.ts';

const T0 = Date.UTC(2026, 0, 1);
const key = (over: Partial<{ createdAt: number; revokedAt: number | null; expiresAt: number | null; enabled: boolean; replacedBy: string | null }> = {}) => ({
  createdAt: T0,
  revokedAt: null,
  expiresAt: null,
  enabled: true,
  replacedBy: null,
  ...over,
});
const rule: RotationRule = { periodDays: 90, noticeDays: 14, expireAfterGraceDays: 30 };

describe('rotation schedule', () => {
  test('a key is due its period after creation, announced noticeDays before', () => {
    const s = rotationSchedule(key(), rule, T0)!;
    assert.equal(s.dueAt, T0 + 90 * DAY_MS);
    assert.equal(s.noticeAt, T0 + 76 * DAY_MS);
    assert.equal(isRotationDue(s, s.dueAt - 1), false);
    assert.equal(isRotationDue(s, s.dueAt), true);
  });

  test('notice defaults to a week and never starts before the key existed', () => {
    assert.equal(rotationSchedule(key(), { periodDays: 30 }, T0)!.noticeAt, T0 + 23 * DAY_MS);
    assert.equal(rotationSchedule(key(), { periodDays: 3 }, T0)!.noticeAt, T0);
  });

  test('the key’s own rule wins whole over its policy’s; none without either', () => {
    const own: RotationRule = { periodDays: 30 };
    assert.equal(effectiveRotation({ rotation: own }, { rotation: rule }), own);
    assert.equal(effectiveRotation({ rotation: null }, { rotation: rule }), rule);
    assert.equal(effectiveRotation({}, null), null);
  });

  test('keys not in use as themselves have no schedule: revoked, expired, rotated; disabled keys do', () => {
    const now = T0 + 100 * DAY_MS;
    assert.equal(rotationSchedule(key({ revokedAt: T0 + 1 }), rule, now), null);
    assert.equal(rotationSchedule(key({ expiresAt: T0 + 1 }), rule, now), null);
    assert.equal(rotationSchedule(key({ replacedBy: 'key_next', expiresAt: now + 1 }), rule, now), null);
    assert.notEqual(rotationSchedule(key({ enabled: false }), rule, now), null);
    assert.equal(rotationSchedule(key(), null, now), null);
  });
});

describe('rotation step', () => {
  const due = T0 + 90 * DAY_MS;
  test('nothing before the notice, then one announcement per due date', () => {
    assert.deepEqual(rotationStep(key(), rule, null, due - 15 * DAY_MS), { step: 'none' });
    assert.equal(rotationStep(key(), rule, null, due - 14 * DAY_MS).step, 'announce');
    assert.equal(rotationStep(key(), rule, { dueAt: due, at: due - 14 * DAY_MS }, due).step, 'none');
    // A notice for another due date (the rule changed) does not count.
    assert.equal(rotationStep(key(), rule, { dueAt: due - DAY_MS, at: T0 }, due).step, 'announce');
  });

  test('expiry comes the grace after the due date, and never sooner than the grace after the notice', () => {
    const onTime = { dueAt: due, at: due - 14 * DAY_MS };
    assert.equal(rotationStep(key(), rule, onTime, due + 30 * DAY_MS - 1).step, 'none');
    const step = rotationStep(key(), rule, onTime, due + 30 * DAY_MS);
    assert.equal(step.step, 'expire');
    assert.equal(step.step === 'expire' && step.graceEndedAt, due + 30 * DAY_MS);
    // A rule added long after the key was due: the whole grace counts from the notice.
    const late = { dueAt: due, at: due + 400 * DAY_MS };
    assert.equal(rotationStep(key(), rule, late, due + 429 * DAY_MS).step, 'none');
    assert.equal(rotationStep(key(), rule, late, due + 430 * DAY_MS).step, 'expire');
    assert.equal(rotationStep(key(), { periodDays: 90 }, onTime, due + 1000 * DAY_MS).step, 'none');
  });
});

describe('drain decision', () => {
  const retire = { quietPeriodSeconds: 600, rotatedAt: T0 };
  test('quiet counts from the rotation, or the last use after it', () => {
    assert.deepEqual(drainDecision(retire, null, T0 + 599_999), { retire: false, quietUntil: T0 + 600_000 });
    assert.deepEqual(drainDecision(retire, T0 - 5000, T0 + 600_000), { retire: true, quietSince: T0 });
    assert.deepEqual(drainDecision(retire, T0 + 300_000, T0 + 600_000), { retire: false, quietUntil: T0 + 900_000 });
  });
  test('uses that may not have arrived yet extend the wait', () => {
    assert.equal(drainDecision(retire, null, T0 + 600_000, 5000).retire, false);
    assert.equal(drainDecision(retire, null, T0 + 605_000, 5000).retire, true);
  });
});
