import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkKeyTransition, KEY_TRANSITIONS, keyInUse, keyState, keyWorks } from './key-lifecycle.ts';

const base = { revokedAt: null, expiresAt: null, enabled: true, replacedBy: null } as const;

test('keyState reads revoked first, then rotation, then expiry, then the switch', () => {
  assert.equal(keyState(base, 10), 'active');
  assert.equal(keyState({ ...base, enabled: false }, 10), 'disabled');
  assert.equal(keyState({ ...base, expiresAt: 10 }, 10), 'expired');
  assert.equal(keyState({ ...base, replacedBy: 'key_2', expiresAt: 11 }, 10), 'rotating');
  assert.equal(keyState({ ...base, replacedBy: 'key_2', expiresAt: 10 }, 10), 'rotated');
  assert.equal(keyState({ ...base, replacedBy: 'key_2', expiresAt: 10, revokedAt: 5 }, 10), 'revoked');
});

test('final states allow only delete', () => {
  for (const state of ['rotated', 'expired', 'revoked'] as const) assert.deepEqual([...KEY_TRANSITIONS[state]], ['delete']);
});

test('a refused transition says which state refused it', () => {
  const result = checkKeyTransition({ ...base, replacedBy: 'key_2', expiresAt: 10 }, 'changeExpiry', 20);
  assert.equal(result.allowed, false);
  assert.equal(result.allowed === false && result.state, 'rotated');
  assert.equal(checkKeyTransition(base, 'changeExpiry', 20).allowed, true);
});

test('a working key is in use and enabled: a disabled key is in use but does not work', () => {
  assert.equal(keyWorks(base, 10), true);
  assert.equal(keyWorks({ ...base, enabled: false }, 10), false);
  assert.equal(keyInUse({ ...base, enabled: false }, 10), true);
  assert.equal(keyWorks({ ...base, expiresAt: 10 }, 10), false);
  assert.equal(keyWorks({ ...base, revokedAt: 10 }, 10), false);
  // A rotated key in its grace works until the grace ends.
  assert.equal(keyWorks({ ...base, replacedBy: 'key_2', expiresAt: 11 }, 10), true);
  assert.equal(keyInUse({ ...base, replacedBy: 'key_2', expiresAt: 10 }, 10), false);
});
