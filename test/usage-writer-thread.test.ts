import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { call, seed, startHarness, type Harness, type Seeded } from './support/harness.ts';

describe('usage is written off the request thread', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => {
    h = await startHarness({ GATEHOUSE_STORE_BUSY_TIMEOUT_MS: '3000' });
    ids = await seed(h);
  });
  after(() => h.close());

  test('while a usage flush waits on the store, the gateway keeps answering', async () => {
    assert.equal((await call(h, '/orders/a', { key: ids.secret })).status, 200);
    // It waits for a write Gatehouse has under way (a flush) before it takes the lock.
    const holder = new DatabaseSync(join(h.dir, 'gatehouse.db'), { timeout: 5000 });
    holder.exec('BEGIN EXCLUSIVE');
    let flushed = false;
    const flush = h.gh.ctx.usage.flush().then(() => (flushed = true));
    try {
      // On the event loop, SQLite's busy wait would hold every request until the flush gave up.
      assert.equal((await call(h, '/orders/a', { key: ids.secret })).status, 200);
      assert.equal(flushed, false, 'the flush is still waiting for the lock');
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    await flush;
    const key = (await h.admin('GET', `/keys/${ids.keyId}`)).body;
    assert.notEqual(key.lastUsedAt, null);
  });

  test('a graceful stop writes what was counted and ends the writer thread', async () => {
    const other = await startHarness();
    const seeded = await seed(other);
    assert.equal((await call(other, '/orders/a', { key: seeded.secret })).status, 200);
    const path = join(other.dir, 'gatehouse.db');
    await other.gh.close();
    const db = new DatabaseSync(path);
    try {
      const row = db.prepare('SELECT requests FROM usage_daily WHERE key_id = ?').get(seeded.keyId) as { requests: number } | undefined;
      assert.equal(row?.requests, 1);
    } finally {
      db.close();
      await other.close();
    }
  });
});
