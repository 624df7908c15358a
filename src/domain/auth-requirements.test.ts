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
  assert.deepEqual(match('GET', '/orders/1'), {
    type: 'bearer',
    scopes: ['orders:read'],
    roles: [],
    needsKey: false,
    needsToken: true,
    rateLimits: [],
    route: '',
  });
  assert.deepEqual(match('POST', '/orders').scopes, ['orders:write']);
  assert.deepEqual(match('GET', '/admin/users').roles, ['admin']);
  assert.equal(match('GET', '/public/status').type, 'public');
  assert.equal(match('GET', '/public/a/b').type, 'bearer', '* is one segment');
  const partner = match('GET', '/partner/x');
  assert.equal(partner.needsKey && partner.needsToken, true);
});

test('a rule for GET holds for HEAD, which upstreams answer with their GET handler', () => {
  const match = compileRequirements({
    type: 'bearer',
    scopes: [],
    routes: [
      { methods: ['GET'], paths: ['/reports/**'], scopes: ['reports:read'] },
      { methods: ['GET'], paths: ['/status'], type: 'public' },
      { methods: ['POST'], paths: ['/reports/**'], scopes: ['reports:write'] },
    ],
  });
  assert.deepEqual(match('HEAD', '/reports/q3').scopes, ['reports:read'], 'not the API requirement with no scope');
  assert.equal(match('HEAD', '/status').type, 'public');
  assert.deepEqual(match('HEAD', '/other').scopes, [], 'no rule for GET there: the API requirement');
  assert.deepEqual(match('POST', '/reports/q3').scopes, ['reports:write']);
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

test('each requirement names its route template: the listen path and the matching rule pattern, never the request path', () => {
  const match = compileRequirements(
    {
      type: 'apiKey',
      scopes: [],
      routes: [
        { methods: ['POST'], scopes: ['w'] },
        { paths: ['/items/*', '/items/*/parts/**'], scopes: ['r'] },
      ],
    },
    false,
    '/orders',
  );
  assert.equal(match('GET', '/items/42').route, '/orders/items/*');
  assert.equal(match('GET', '/items/42/parts/a/b').route, '/orders/items/*/parts/**');
  assert.equal(match('POST', '/items/42').route, '/orders', 'a rule without paths names the listen path');
  assert.equal(match('GET', '/other').route, '/orders', 'the fallback names the listen path');
  assert.equal(
    compileRequirements({ type: 'apiKey', scopes: [], routes: [{ paths: ['/x/**'] }] }, false, '/')('GET', '/x/1').route,
    '/x/**',
    'no double slash at the root',
  );
});
