import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SigningKey } from './entities.ts';
import { keySchedule, retireForRotation, rotationDue } from './signing-key-schedule.ts';

const H = 3_600_000;
const key = (id: string, activatesAt: number, unpublishAt: number | null = null, retiredAt: number | null = null): SigningKey => ({
  id,
  alg: 'ES256',
  publicJwk: {},
  sealedPrivateJwk: '',
  activatesAt,
  retiredAt,
  unpublishAt,
  createdAt: 0,
  updatedAt: 0,
});

test('a new key is published before it signs, and signs once its activation time comes', () => {
  const keys = [key('old', 0), key('new', 10 * H)];
  const before = keySchedule(keys, 5 * H);
  assert.equal(before.active?.id, 'old');
  assert.deepEqual(
    before.published.map((k) => k.id),
    ['old', 'new'],
  );
  assert.equal(before.nextChangeAt, 10 * H);
  const after = keySchedule(keys, 10 * H);
  assert.equal(after.active?.id, 'new');
  assert.deepEqual(
    after.published.map((k) => k.id),
    ['new', 'old'],
  );
});

test('a retired key stays published until its unpublish time, then disappears', () => {
  const keys = [key('old', 0, 20 * H, 10 * H), key('new', 10 * H)];
  assert.deepEqual(
    keySchedule(keys, 19 * H).published.map((k) => k.id),
    ['new', 'old'],
  );
  assert.equal(keySchedule(keys, 19 * H).nextChangeAt, 20 * H);
  const later = keySchedule(keys, 20 * H);
  assert.deepEqual(
    later.published.map((k) => k.id),
    ['new'],
  );
  assert.equal(later.nextChangeAt, null);
});

test('no key has activated: nothing signs', () => {
  assert.equal(keySchedule([key('future', 5)], 1).active, null);
  assert.equal(keySchedule([], 1).active, null);
});

test('a rotation retires the key signing at the new activation time, with the token lifetime as margin', () => {
  const keys = [key('a', 0, 5 * H, 2 * H), key('b', 2 * H)];
  const retired = retireForRotation(keys, 10 * H, 25 * H, 9 * H);
  assert.deepEqual(
    retired.map((k) => [k.id, k.retiredAt, k.unpublishAt]),
    [['b', 10 * H, 35 * H]],
  );
});

test('rotation is due when the newest key is older than the period, or there is none', () => {
  assert.equal(rotationDue([], 10, 0), true);
  assert.equal(rotationDue([key('a', 0), key('b', 100)], 50, 149), false);
  assert.equal(rotationDue([key('a', 0), key('b', 100)], 50, 150), true);
});
