import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consolePermissions, mayUsePortal } from './console-roles.ts';
import { ADMIN_PERMISSIONS } from './permissions.ts';

test('an admin holds every admin permission', () => {
  assert.deepEqual(consolePermissions('admin'), [...ADMIN_PERMISSIONS]);
});

test('an operator holds every permission except managing users and signing keys', () => {
  const held = consolePermissions('operator');
  assert.ok(!held.includes('users:write'));
  assert.ok(!held.includes('signing_keys:write'));
  assert.ok(held.includes('users:read') && held.includes('keys:write') && held.includes('apis:write') && held.includes('keys:verify'));
  assert.equal(held.length, ADMIN_PERMISSIONS.length - 2);
});

test('an auditor holds every read permission and nothing else', () => {
  const held = consolePermissions('auditor');
  assert.deepEqual(
    held,
    ADMIN_PERMISSIONS.filter((p) => p.endsWith(':read')),
  );
  assert.ok(held.every((p) => p.endsWith(':read')));
  assert.ok(!held.includes('keys:verify'));
});

test('a developer, and a user without a console role, hold no admin permission', () => {
  assert.deepEqual(consolePermissions('developer'), []);
  assert.deepEqual(consolePermissions(null), []);
});

test('the portal is for developers, operators and admins, not auditors', () => {
  assert.equal(mayUsePortal('developer'), true);
  assert.equal(mayUsePortal('operator'), true);
  assert.equal(mayUsePortal('admin'), true);
  assert.equal(mayUsePortal('auditor'), false);
  assert.equal(mayUsePortal(null), false);
});
