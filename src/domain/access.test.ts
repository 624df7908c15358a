import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileAccess, compilePathPattern, isValidPathPattern, pathPatternProblem } from './access.ts';

describe('compilePathPattern', () => {
  test('`*` matches exactly one path segment', () => {
    const re = compilePathPattern('/users/*');
    assert.ok(re.test('/users/42'));
    assert.ok(re.test('/users/42/'));
    assert.ok(!re.test('/users'));
    assert.ok(!re.test('/users/'));
    assert.ok(!re.test('/users/42/orders'));
  });

  test('`**` matches the rest of the path, including nothing', () => {
    const re = compilePathPattern('/users/**');
    assert.ok(re.test('/users'));
    assert.ok(re.test('/users/'));
    assert.ok(re.test('/users/42'));
    assert.ok(re.test('/users/42/orders/7'));
    assert.ok(!re.test('/usersX'));
    assert.ok(!re.test('/admin/users'));
  });

  test('`*` in the middle of a pattern matches one segment there', () => {
    const re = compilePathPattern('/users/*/orders');
    assert.ok(re.test('/users/42/orders'));
    assert.ok(!re.test('/users/42/43/orders'));
    assert.ok(!re.test('/users/42/invoices'));
  });

  test('everything other than a lone `*` or `**` segment is literal', () => {
    const re = compilePathPattern('/v1.0/a+b');
    assert.ok(re.test('/v1.0/a+b'));
    assert.ok(!re.test('/v1x0/a+b'));
    assert.ok(!re.test('/v1.0/aab'));
    const star = compilePathPattern('/files/a*b');
    assert.ok(star.test('/files/a*b'));
    assert.ok(!star.test('/files/axxb'));
  });

  test('a pattern without a leading slash is relative to the root', () => {
    const re = compilePathPattern('status');
    assert.ok(re.test('/status'));
    assert.ok(!re.test('/other/status'));
  });
});

describe('isValidPathPattern', () => {
  test('accepts literal segments, `*` and `**`', () => {
    for (const p of ['/', '/users', '/users/*', '/users/**', 'users/*/orders', '/a-b_c.d~e/%20']) {
      assert.equal(isValidPathPattern(p), true, p);
    }
  });

  test('rejects empty, overlong, spaced, `***` and partial wildcards', () => {
    for (const p of ['', '/' + 'a'.repeat(512), '/a b', '/***', '/users*', '/a?b', '/a#b']) {
      assert.equal(isValidPathPattern(p), false, p);
    }
  });
});

describe('pathPatternProblem', () => {
  test('a pattern must be in canonical form, so one literal spelling covers every way of writing the path', () => {
    assert.equal(pathPatternProblem('/admin/**'), null);
    assert.equal(pathPatternProblem('/users/*/orders/'), null);
    assert.match(pathPatternProblem('/%61dmin/**')!, /write it as \/admin\/\*\*/);
    assert.match(pathPatternProblem('/a|b/*')!, /write it as \/a%7Cb\/\*/);
    for (const p of ['/../admin', '/public/..', '/./x', '/public/%2e%2e/**']) assert.match(pathPatternProblem(p)!, /"\." or "\.\."/, p);
    assert.match(pathPatternProblem('/a//b')!, /empty segment/);
    assert.match(pathPatternProblem('/admin;x/**')!, /;/);
    assert.match(pathPatternProblem('/a%2fb')!, /%2F/);
    assert.match(pathPatternProblem('/%2561')!, /double encoding/);
    assert.match(pathPatternProblem('/%c0%ae')!, /UTF-8/);
  });
});

describe('compileAccess', () => {
  const access = compileAccess([
    { apiId: 'api_orders', methods: ['get', 'POST'], paths: ['/orders/*'] },
    { apiId: 'api_orders', methods: ['DELETE'], paths: ['/admin/**'] },
    { apiId: 'api_open' },
  ]);

  test('an api without a rule is denied', () => {
    assert.equal(access.allows('api_unknown'), false);
    assert.equal(access.allows('api_unknown', 'GET', '/'), false);
  });

  test('methods are compared upper-case and others are denied', () => {
    assert.equal(access.allows('api_orders', 'GET', '/orders/1'), true);
    assert.equal(access.allows('api_orders', 'POST', '/orders/1'), true);
    assert.equal(access.allows('api_orders', 'PUT', '/orders/1'), false);
  });

  test('a request must match method and path of the same rule', () => {
    assert.equal(access.allows('api_orders', 'DELETE', '/admin/x/y'), true);
    assert.equal(access.allows('api_orders', 'DELETE', '/orders/1'), false);
    assert.equal(access.allows('api_orders', 'GET', '/admin/x'), false);
  });

  test('a path outside every pattern is denied', () => {
    assert.equal(access.allows('api_orders', 'GET', '/orders'), false);
    assert.equal(access.allows('api_orders', 'GET', '/orders/1/items'), false);
  });

  test('an absent method or path is not checked', () => {
    assert.equal(access.allows('api_orders'), true);
    assert.equal(access.allows('api_orders', undefined, '/orders/1'), true);
    assert.equal(access.allows('api_orders', 'PUT'), false);
    assert.equal(access.allows('api_orders', 'GET'), true);
  });

  test('for an API that matches without regard to case, patterns match every case of the path', () => {
    assert.equal(access.allows('api_orders', 'GET', '/ORDERS/1'), false);
    assert.equal(access.allows('api_orders', 'GET', '/ORDERS/1', true), true);
    assert.equal(access.allows('api_orders', 'DELETE', '/Admin/x', true), true);
    assert.equal(access.allows('api_orders', 'GET', '/Other/1', true), false);
    assert.equal(access.allows('api_orders', 'GET', '/orders/1', false), true, 'the case-sensitive matchers are kept');
  });

  test('a rule without methods or paths allows every method and path of its api', () => {
    assert.equal(access.allows('api_open', 'PATCH', '/anything/at/all'), true);
  });

  test('no rules at all deny every api', () => {
    assert.equal(compileAccess([]).allows('api_orders'), false);
  });

  test('empty method or path lists allow nothing', () => {
    assert.equal(compileAccess([{ apiId: 'a', methods: [] }]).allows('a', 'GET'), false);
    assert.equal(compileAccess([{ apiId: 'a', paths: [] }]).allows('a', 'GET', '/'), false);
  });
});

describe('patterns saved before they had to be canonical', () => {
  test('match the canonical paths they spell, so an old rule still guards what it names', () => {
    const re = compilePathPattern('/%61dmin//**');
    assert.ok(re.test('/admin/secret'));
    assert.ok(re.test('/admin'));
    assert.ok(compilePathPattern('/a%3fb/*').test('/a%3Fb/x'));
    assert.ok(compilePathPattern('/a|b').test('/a%7Cb'));
    assert.ok(!compilePathPattern('/public/../admin').test('/admin'), 'a segment with no canonical form never matches');
    assert.ok(compilePathPattern('/').test('/'));
    assert.ok(compilePathPattern('').test('/'));
  });
});
