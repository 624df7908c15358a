import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grantableScopes, scopeTokens, ungrantableScopes, unusableClientScopes } from './client-scopes.ts';

const orders = { auth: { type: 'bearer' as const, scopes: ['orders:read'], routes: [{ methods: ['POST'], scopes: ['orders:write'] }] } };
const billing = { auth: { type: 'bearer' as const, scopes: ['billing:read'] } };

test('a client is granted, per API, the scopes the API mentions that the client was given', () => {
  assert.deepEqual(grantableScopes(orders.auth, ['orders:read', 'billing:read']), ['orders:read']);
  assert.deepEqual(grantableScopes(orders.auth, ['orders:write']), ['orders:write'], 'scopes on route rules count');
});

test('requested scopes beyond the grantable set are named; OpenID scopes only where a user signs in', () => {
  const client = ['orders:read', 'billing:read'];
  assert.deepEqual(ungrantableScopes(scopeTokens('openid orders:read conf:admin'), client, [orders], true), ['conf:admin']);
  assert.deepEqual(ungrantableScopes(scopeTokens('openid orders:read'), client, [orders], false), ['openid']);
  assert.deepEqual(ungrantableScopes(scopeTokens('billing:read'), client, [orders], true), ['billing:read'], 'another API’s scope needs that API named');
  assert.deepEqual(ungrantableScopes(scopeTokens('orders:read billing:read'), client, [orders, billing], true), []);
  assert.deepEqual(
    ungrantableScopes(scopeTokens('orders:write'), client, [orders], true),
    ['orders:write'],
    'the API mentions it, the client was not given it',
  );
  assert.deepEqual(scopeTokens(' a  b a '), ['a', 'b']);
});

test('a client’s scopes that none of its APIs mentions are reported', () => {
  assert.deepEqual(unusableClientScopes(['orders:read', 'conf:admin', 'openid'], [orders]), ['conf:admin']);
  assert.deepEqual(unusableClientScopes(['orders:read'], []), ['orders:read']);
});
