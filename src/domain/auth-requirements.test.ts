import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authProblems, compileRequirements } from './auth-requirements.ts';

test('route rules pick the requirement by method and path; the first match wins; the API is the fallback', () => {
  const match = compileRequirements({
    type: 'bearer',
    scopes: ['orders:read'],
    roles: [],
    routes: [
      { methods: ['POST', 'PUT', 'DELETE'], scopes: ['orders:write'] },
      { paths: ['/admin/**'], roles: ['admin'] },
      { methods: ['GET'], paths: ['/public/*'], type: 'public', scopes: [] },
      { paths: ['/partner/**'], type: 'apiKey+bearer' },
    ],
  });
  assert.deepEqual(match('GET', '/orders/1'), { type: 'bearer', scopes: ['orders:read'], roles: [], needsKey: false, needsToken: true, rateLimits: [], pattern: null });
  assert.deepEqual(match('POST', '/orders').scopes, ['orders:write']);
  assert.deepEqual(match('GET', '/admin/users').roles, ['admin']);
  assert.equal(match('GET', '/public/status').type, 'public');
  assert.equal(match('GET', '/public/a/b').type, 'bearer', '* is one segment');
  const partner = match('GET', '/partner/x');
  assert.equal(partner.needsKey && partner.needsToken, true);
});

test('settings that could never be met are reported for the admin API', () => {
  assert.ok(authProblems({ type: 'bearer', scopes: [] }, false)['auth.type']);
  assert.deepEqual(authProblems({ type: 'bearer', scopes: [] }, true), {});
  assert.ok(authProblems({ type: 'apiKey', scopes: [], roles: ['admin'] }, true)['auth.roles']);
  assert.ok(authProblems({ type: 'public', scopes: ['x'] }, true)['auth.scopes']);
  assert.ok(authProblems({ type: 'bearer', scopes: [], routes: [{ paths: ['/x'], type: 'apiKey', roles: ['r'] }] }, true)['auth.routes.0.roles']);
});

test('for an API that matches without regard to case, rules match every case of the path', () => {
  const auth = { type: 'apiKey' as const, scopes: [], routes: [{ paths: ['/admin/**'], type: 'bearer' as const, roles: ['admin'] }] };
  assert.equal(compileRequirements(auth)('GET', '/ADMIN/x').type, 'apiKey', 'case-sensitive by default');
  const folded = compileRequirements(auth, true);
  for (const path of ['/admin/x', '/ADMIN/x', '/Admin', '/aDmIn/']) assert.equal(folded('GET', path).type, 'bearer', path);
  assert.equal(folded('GET', '/administrator').type, 'apiKey');
});

test('the requirement names the path pattern that matched (the route template), null for the API itself or a rule without paths', () => {
  const match = compileRequirements({
    type: 'apiKey',
    scopes: [],
    routes: [{ methods: ['DELETE'], scopes: ['orders:delete'] }, { paths: ['/items/*', '/carts/**'], scopes: ['orders:read'] }],
  });
  assert.equal(match('GET', '/items/1').pattern, '/items/*');
  assert.equal(match('GET', '/carts/1/lines').pattern, '/carts/**');
  assert.equal(match('DELETE', '/items/1').pattern, null);
  assert.equal(match('GET', '/other').pattern, null);
  assert.equal(match('GET', '/items/1'), match('GET', '/items/2'), 'made once, not per request');
});
