import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { call, expectProblem, seed, startHarness, type Harness, type Seeded } from './support/harness.ts';

describe('the store refusing writes', () => {
  let h: Harness;
  let ids: Seeded;
  let holder: DatabaseSync;
  before(async () => {
    h = await startHarness({ GATEHOUSE_STORE_BUSY_TIMEOUT_MS: '50' });
    ids = await seed(h);
    // Another connection holds the write lock: the store's writes fail as on a disk that refuses them.
    // It waits for a write Gatehouse has under way (a flush) before it takes the lock.
    holder = new DatabaseSync(join(h.dir, 'gatehouse.db'), { timeout: 5000 });
  });
  after(async () => {
    if (holder.isOpen) holder.close();
    await h.close();
  });

  test('a change is answered 503 STORAGE_UNAVAILABLE with Retry-After, changes nothing, and readiness names the real error', async () => {
    assert.equal((await call(h, '/orders/a', { key: ids.secret })).status, 200);
    const readyBefore = await fetch(`${h.gh.controlUrl}/readyz`);
    assert.equal(readyBefore.status, 200);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const refused = await h.admin('POST', '/apps', { name: 'during the outage' });
      expectProblem(refused, 503, 'STORAGE_UNAVAILABLE');
      assert.equal(refused.headers.get('retry-after'), '5');
      const ready = await fetch(`${h.gh.controlUrl}/readyz`);
      assert.equal(ready.status, 503);
      const report = (await ready.json()) as any;
      assert.equal(report.components.store.ok, false);
      // The engine's own reason, not "cannot rollback - no transaction is active".
      assert.match(report.components.store.lastError, /SQLITE_BUSY: database is locked/);
      // The gateway keeps serving keys it knows while the store refuses writes.
      assert.equal((await call(h, '/orders/a', { key: ids.secret })).status, 200);
    } finally {
      holder.exec('ROLLBACK');
    }
    assert.equal((await h.admin('POST', '/apps', { name: 'after the outage' })).status, 201);
    const names = (await h.admin('GET', '/apps')).body.items.map((a: { name: string }) => a.name);
    assert.deepEqual(
      names.filter((n: string) => n.endsWith('outage')),
      ['after the outage'],
    );
    const ready = await fetch(`${h.gh.controlUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as any).components.store.ok, true);
  });

  test('a failed usage flush keeps its counts for the next one', async () => {
    assert.equal((await call(h, '/orders/a', { key: ids.secret })).status, 200);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      await assert.rejects(h.gh.ctx.usage.flush(), /SQLITE_BUSY/);
    } finally {
      holder.exec('ROLLBACK');
    }
    await h.gh.ctx.usage.flush();
    const key = await h.admin('GET', `/keys/${ids.keyId}`);
    assert.notEqual(key.body.lastUsedAt, null);
  });

  test('/livez answers without credentials', async () => {
    const live = await fetch(`${h.gh.controlUrl}/livez`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: 'live' });
  });
});
