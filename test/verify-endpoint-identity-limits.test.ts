import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, startHarness, type Harness } from './support/harness.ts';

// The verify endpoint must decide a key as the gateway does for the same request: an API's own limits
// per app (the gateway's identity-limits stage) apply beside the key's, checked with consume: false
// and counted with consume: true.
describe("POST /admin/v1/keys/verify applies the API's per-app limits, as the gateway does", () => {
  let h: Harness;
  let appId = '';
  const verify = (body: Record<string, unknown>) => h.admin('POST', '/keys/verify', body);
  /** An API whose every request counts against a per-app limit of 2 a minute, and a key of the app for it. */
  const limitedApi = async (name: string) => {
    const api = await h.admin('POST', '/apis', {
      name,
      listenPath: `/${name}`,
      upstreamUrl: h.upstream.url,
      auth: { type: 'apiKey', scopes: [], rateLimits: [{ name: 'per-app', limit: 2, windowSeconds: 60, by: 'app' }] },
    });
    assert.equal(api.status, 201, JSON.stringify(api.body));
    const key = async () => (await h.admin('POST', '/keys', { appId, access: [{ apiId: api.body.id }] })).body.secret as string;
    return { key };
  };

  before(async () => {
    h = await startHarness();
    appId = (await h.admin('POST', '/apps', { name: 'Ledger client', owner: 'ops@example.com' })).body.id;
  });
  after(() => h.close());

  test("an app whose per-app limit the gateway used up: RATE_LIMITED at both, for the app's other keys too", async () => {
    const { key } = await limitedApi('ledger');
    const [first, second] = [await key(), await key()];
    for (let i = 0; i < 2; i++) assert.equal((await call(h, '/ledger/books', { key: first, header: 'x-api-key' })).status, 200);
    const gateway = await call(h, '/ledger/books', { key: second, header: 'x-api-key' });
    assert.equal(gateway.status, 429);
    assert.equal(gateway.body.code, 'RATE_LIMITED');
    const res = await verify({ key: second, api: 'ledger', method: 'GET', path: '/books', consume: false });
    assert.equal(res.body.code, 'RATE_LIMITED');
    assert.equal(res.body.valid, false);
    assert.ok(res.body.retryAfterSeconds > 0);
    assert.deepEqual(
      res.body.ratelimits.map((l: { name: string; remaining: number }) => [l.name, l.remaining]),
      [['per-app', 0]],
    );
  });

  test('checks made with consume: true count against the per-app limit as gateway requests do; consume: false counts nothing', async () => {
    const { key } = await limitedApi('catalog');
    const secret = await key();
    const use = { key: secret, api: 'catalog', method: 'GET', path: '/items', consume: true };
    assert.equal((await verify({ ...use, consume: false })).body.code, 'VALID');
    assert.deepEqual([(await verify(use)).body.code, (await verify(use)).body.code], ['VALID', 'VALID']);
    assert.equal((await call(h, '/catalog/items', { key: secret, header: 'x-api-key' })).status, 429);
  });
});
