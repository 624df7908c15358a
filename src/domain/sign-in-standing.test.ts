import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signInRefusal } from './sign-in-standing.ts';

test('a disabled account and one waiting for approval may not sign in; an active one may', () => {
  assert.equal(signInRefusal({ disabled: true }), 'disabled');
  assert.equal(signInRefusal({ disabled: false, pendingApproval: true }), 'pending_approval');
  assert.equal(signInRefusal({ disabled: true, pendingApproval: true }), 'disabled');
  assert.equal(signInRefusal({ disabled: false, pendingApproval: false }), null);
  assert.equal(signInRefusal({ disabled: false }), null);
});
