import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, startHarness, type Harness } from './support/harness.ts';

// The verify endpoint must decide a key as the gateway does for the same request: a route rule's scopes
// replace the API's (first matching rule wins), and an apiKey+bearer route asks the key for no scope.
describe('POST /admin/v1/keys/verify requires the scopes of the route the path falls under, as the gateway does', () => {
  let h: Harness;
  let appId = '';
  const verify = (body: Record<string, unknown>) => h.admin('POST', '/keys/verify', body);

  before(async () => {
    h = await startHarness();
    appId = (await h.admin('POST', '/apps', { name: 'Ledger client', owner: 'ops@example.com' })).body.id;
  });
  after(() => h.close());

  test('a route rule that asks for more scopes than the API: INSUFFICIENT_SCOPE at both', async () => {
    const api = await h.admin('POST', '/apis', {
      name: 'ledger',
      listenPath: '/ledger',
      upstreamUrl: h.upstream.url,
      auth: { type: 'apiKey', scopes: ['ledger:read'], routes: [{ paths: ['/admin/**'], scopes: ['ledger:admin'] }] },
    });
    assert.equal(api.status, 201, JSON.stringify(api.body));
    const key = (await h.admin('POST', '/keys', { appId, access: [{ apiId: api.body.id }], scopes: ['ledger:read'] })).body;
    const gateway = await call(h, '/ledger/admin/close-books', { key: key.secret, header: 'x-api-key' });
    assert.equal(gateway.status, 403);
    assert.equal(gateway.body.code, 'INSUFFICIENT_SCOPE');
    const res = await verify({ key: key.secret, api: 'ledger', method: 'GET', path: '/admin/close-books', consume: false });
    assert.equal(res.body.code, 'INSUFFICIENT_SCOPE');
  });

  test('a route rule that asks for fewer scopes than the API: VALID at both', async () => {
    const api = await h.admin('POST', '/apis', {
      name: 'catalog',
      listenPath: '/catalog',
      upstreamUrl: h.upstream.url,
      auth: { type: 'apiKey', scopes: ['catalog:write'], routes: [{ methods: ['GET'], paths: ['/items/*'], scopes: [] }] },
    });
    assert.equal(api.status, 201, JSON.stringify(api.body));
    const key = (await h.admin('POST', '/keys', { appId, access: [{ apiId: api.body.id }], scopes: [] })).body;
    const gateway = await call(h, '/catalog/items/7', { key: key.secret, header: 'x-api-key' });
    assert.equal(gateway.status, 200, JSON.stringify(gateway.body));
    const res = await verify({ key: key.secret, api: 'catalog', method: 'GET', path: '/items/7', consume: false });
    assert.equal(res.body.code, 'VALID');
  });
});
