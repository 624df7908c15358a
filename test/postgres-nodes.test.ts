import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startPostgres, type PrivatePostgres } from './support/postgres.ts';
import { call, seed, startHarness, TestClock, type Harness, type Seeded } from './support/harness.ts';
import { waitFor } from './support/wait.ts';

/**
 * Two Gatehouse nodes on one PostgreSQL database: what one node writes, the other serves; usage
 * counted on both adds up in the store; with the database gone, admin writes fail with 503 and the
 * gateway keeps serving the keys it has cached.
 */
describe('two nodes on one PostgreSQL store', () => {
  let pg: PrivatePostgres;
  let a: Harness;
  let b: Harness;
  let ids: Seeded;
  const clock = new TestClock();

  before(async () => {
    pg = await startPostgres();
    await pg.createDatabase('nodes');
    const env = {
      GATEHOUSE_STORE_DRIVER: 'postgres',
      GATEHOUSE_STORE_URL: pg.urlWithoutPassword('nodes'),
      GATEHOUSE_STORE_PASSWORD: pg.password,
      GATEHOUSE_STORE_CONNECT_TIMEOUT_MS: '1000',
    };
    a = await startHarness(env, clock);
    b = await startHarness(env, clock);
    ids = await seed(a, { quota: { limit: 100, period: 'day' } });
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await pg?.stop();
  });

  test('an API and a key created on one node work on the other once its change feed reads them', async () => {
    assert.equal((await call(a, '/orders/1', { key: ids.secret })).status, 200);
    // B built its routes before the API existed: it learns of it from the store's change feed.
    await waitFor(async () => (await call(b, '/orders/1', { key: ids.secret })).status === 200, { what: "the API on B's gateway" });
    const shown = await b.admin('GET', `/keys/${ids.keyId}`);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.appId, ids.appId);
  });

  test('usage counted on both nodes adds up in the store', async () => {
    await a.gh.ctx.usage.flush();
    await b.gh.ctx.usage.flush();
    const before = (await a.admin('GET', `/keys/${ids.keyId}`)).body.quota.used as number;
    for (let i = 0; i < 3; i++) assert.equal((await call(a, '/orders/x', { key: ids.secret })).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await call(b, '/orders/x', { key: ids.secret })).status, 200);
    await a.gh.ctx.usage.flush();
    await b.gh.ctx.usage.flush();
    assert.equal((await a.admin('GET', `/keys/${ids.keyId}`)).body.quota.used, before + 5);
    assert.equal((await b.admin('GET', `/keys/${ids.keyId}`)).body.quota.used, before + 5);
  });

  test("a revocation on one node reaches the other's gateway through the change feed, not the cache's lifetime", async () => {
    const extra = await a.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    assert.equal((await call(b, '/orders/1', { key: extra.body.secret })).status, 200);
    assert.equal((await a.admin('POST', `/keys/${extra.body.id}/revoke`, { reason: 'test' })).status, 200);
    assert.equal((await call(a, '/orders/1', { key: extra.body.secret })).status, 401, 'at once on the node that revoked it');
    // The clock stands still: B's cache entry is fresh, only the feed can tell B.
    await waitFor(async () => (await call(b, '/orders/1', { key: extra.body.secret })).status === 401, { what: 'the revocation on B' });
  });

  test('with the database gone, admin writes answer 503 and cached keys keep working; all recovers when it is back', async () => {
    assert.equal((await call(b, '/orders/1', { key: ids.secret })).status, 200);
    await pg.pause();
    const write = await a.admin('POST', '/apps', { name: 'during the outage' });
    assert.equal(write.status, 503);
    assert.equal(write.body.code, 'STORAGE_UNAVAILABLE');
    assert.ok(!JSON.stringify(write.body).includes(pg.password));
    assert.equal((await call(b, '/orders/1', { key: ids.secret })).status, 200);
    assert.equal((await fetch(`${a.gh.controlUrl}/readyz`)).status, 503);
    await pg.resume();
    const after = await a.admin('POST', '/apps', { name: 'after the outage' });
    assert.equal(after.status, 201);
    await waitFor(async () => (await fetch(`${a.gh.controlUrl}/readyz`)).status === 200, { what: 'A ready again' });
    assert.equal((await b.admin('GET', `/apps/${after.body.id}`)).body.name, 'after the outage');
  });
});
