import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ApiAuth } from '../../domain/entities.ts';
import type { VerifiedToken } from '../../verification/port.ts';
import { denialOf, routedExchangeFor } from '../test-exchange.ts';
import { authorizeStage } from './authorize.ts';

/** A verified token holding these scopes and roles, as the verify-token stage leaves it. */
const verifiedToken = (scopes: string[], roles: string[]): VerifiedToken => ({
  valid: true,
  code: 'VALID',
  claims: { iss: 'https://id.example', sub: 'user-1', aud: 'https://api.example/orders', exp: 2_000_000_000, scope: scopes.join(' '), roles },
  scopes: new Set(scopes),
  roles: new Set(roles),
});

const run = async (auth: ApiAuth, token: VerifiedToken | null) => {
  const exchange = await routedExchangeFor(auth);
  exchange.tokenVerification = token;
  return denialOf(authorizeStage(exchange));
};

describe('authorize stage', () => {
  const auth: ApiAuth = { type: 'bearer', scopes: ['orders:read', 'orders:write'], roles: ['clerk'] };

  test('a token with every scope and role the route asks for passes', async () => {
    assert.equal(await run(auth, verifiedToken(['orders:read', 'orders:write', 'other'], ['clerk', 'admin'])), undefined);
  });

  test('a missing scope is INSUFFICIENT_SCOPE, naming every scope the route needs (RFC 6750 §3.1)', async () => {
    const denial = await run(auth, verifiedToken(['orders:read'], ['clerk']));
    assert.equal(denial?.code, 'INSUFFICIENT_SCOPE');
    assert.match(denial?.detail ?? '', /orders:write/);
    assert.deepEqual(denial?.scope, ['orders:read', 'orders:write']);
  });

  test('a missing role is ROLE_REQUIRED', async () => {
    const denial = await run(auth, verifiedToken(['orders:read', 'orders:write'], ['viewer']));
    assert.equal(denial?.code, 'ROLE_REQUIRED');
    assert.match(denial?.detail ?? '', /clerk/);
  });

  test('scopes and roles are compared exactly: no prefix, no case folding', async () => {
    assert.equal((await run(auth, verifiedToken(['orders', 'ORDERS:WRITE'], ['clerk'])))?.code, 'INSUFFICIENT_SCOPE');
    assert.equal((await run(auth, verifiedToken(['orders:read', 'orders:write'], ['Clerk'])))?.code, 'ROLE_REQUIRED');
  });

  test('a key-only route has no token to authorize: passes', async () => {
    assert.equal(await run({ type: 'apiKey', scopes: ['orders:read'] }, null), undefined);
  });
});
