import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Api } from '../../domain/entities.ts';
import { RouteTable } from '../route-table.ts';
import { denialOf, exchangeFor, TEST_NOW } from '../test-exchange.ts';
import { canonicalPathStage } from './canonical-path.ts';
import { routeStage } from './route.ts';

const api = (name: string, listenPath: string, more: Partial<Api> = {}): Api => ({
  id: `api_${name}`,
  name,
  listenPath,
  upstreamUrl: 'http://127.0.0.1:9/base',
  auth: { type: 'apiKey', scopes: [] },
  tokens: { audience: `https://api.example/${name}`, accessTokenTtlSeconds: 300 },
  timeoutMs: 1000,
  createdAt: TEST_NOW,
  updatedAt: TEST_NOW,
  ...more,
});

const table = new RouteTable([
  api('orders', '/orders', {
    auth: {
      type: 'apiKey',
      scopes: ['orders:read'],
      routes: [
        { paths: ['/health'], type: 'public' },
        { methods: ['POST'], paths: ['/refunds/**'], type: 'apiKey+bearer', scopes: ['refunds'] },
      ],
    },
  }),
  api('orders-admin', '/orders/admin', { auth: { type: 'bearer', scopes: ['admin'], roles: ['ops'] } }),
  api('legacy', '/legacy', { pathCase: 'insensitive', auth: { type: 'public', scopes: [], routes: [{ paths: ['/admin/**'], type: 'apiKey' }] } }),
]);
const stage = routeStage(() => table);

/** The canonical-path stage runs first in the pipeline: the route is looked up on its result. */
const run = async (target: string, method = 'GET') => {
  const exchange = await exchangeFor({ method, target });
  assert.equal(await canonicalPathStage(exchange), undefined);
  return { exchange, denial: await denialOf(stage(exchange)) };
};

describe('route stage', () => {
  test('the longest listen path that is a whole-segment prefix wins', async () => {
    assert.equal((await run('/orders/items')).exchange.route?.api.name, 'orders');
    assert.equal((await run('/orders/admin/users')).exchange.route?.api.name, 'orders-admin');
    assert.equal((await run('/orders/administrator')).exchange.route?.api.name, 'orders', '"/orders/admin" is not a prefix of a longer segment');
  });

  test('a path outside every listen path is ROUTE_NOT_FOUND, also one that only starts with the same letters', async () => {
    for (const target of ['/ordersx', '/nothing', '/']) {
      const { exchange, denial } = await run(target);
      assert.equal(denial?.code, 'ROUTE_NOT_FOUND', target);
      assert.equal(exchange.route, null);
    }
  });

  test('the API path is the canonical path below the listen path, "/" at least', async () => {
    assert.equal((await run('/orders')).exchange.apiPath, '/');
    assert.equal((await run('/orders/')).exchange.apiPath, '/');
    assert.equal((await run('/orders//items/%7e1?x=1')).exchange.apiPath, '/items/~1');
  });

  test('the requirement is settled by method and path: the first matching rule, else the API’s', async () => {
    assert.equal((await run('/orders/health')).exchange.requirement?.type, 'public');
    const refund = (await run('/orders/refunds/1', 'POST')).exchange.requirement;
    assert.equal(refund?.type, 'apiKey+bearer');
    assert.deepEqual(refund?.scopes, ['refunds']);
    assert.equal((await run('/orders/refunds/1', 'GET')).exchange.requirement?.type, 'apiKey', 'the rule is for POST only');
    const admin = (await run('/orders/admin/users')).exchange.requirement;
    assert.equal(admin?.needsToken, true);
    assert.deepEqual(admin?.roles, ['ops']);
  });

  test('an API that matches without regard to case applies its rules that way, and takes ASCII paths only', async () => {
    assert.equal((await run('/legacy/ADMIN/users')).exchange.requirement?.type, 'apiKey', 'the rule for /admin/** applies to /ADMIN/users');
    assert.equal((await run('/legacy/home')).exchange.requirement?.type, 'public');
    const { denial } = await run('/legacy/%E2%84%AAelvin');
    assert.equal(denial?.code, 'PATH_NOT_CANONICAL');
    assert.match(denial?.detail ?? '', /ASCII/);
    assert.equal((await run('/orders/%E2%84%AAelvin')).denial, undefined, 'a case-sensitive API takes them');
  });

  test('the route table is read for every request: a swapped table applies at once', async () => {
    let current = new RouteTable([]);
    const swapping = routeStage(() => current);
    const exchange = await exchangeFor({ target: '/orders/items' });
    exchange.canonicalPath = '/orders/items';
    assert.equal((await denialOf(swapping(exchange)))?.code, 'ROUTE_NOT_FOUND');
    current = table;
    assert.equal(await swapping(exchange), undefined);
  });
});

describe('many APIs under one first segment', () => {
  // Past a few APIs per first segment the table looks the request's prefixes up instead of comparing
  // each listen path; the answer must be the same longest match.
  const listenPaths = ['/v1', '/v1/orders', '/v1/orders/admin', '/v1/users', ...Array.from({ length: 200 }, (_, i) => `/v1/svc${i}/api`)];
  const many = new RouteTable(listenPaths.map((p, i) => api(`api-${i}`, p)));
  const longest = (path: string) => listenPaths.filter((l) => path === l || path.startsWith(`${l}/`)).sort((a, b) => b.length - a.length)[0] ?? null;

  test('the longest listen path that is the path or a prefix of it at a segment boundary, as with few APIs', () => {
    for (const path of [
      '/v1',
      '/v1/',
      '/v1/orders',
      '/v1/orders/1',
      '/v1/orders/admin/x/',
      '/v1/ordersx',
      '/v1/svc17/api/items',
      '/v1/svc17/apix',
      '/v1/svc199/api',
      '/v2/orders',
    ]) {
      assert.equal(many.match(path)?.api.listenPath ?? null, longest(path), path);
    }
  });
});
