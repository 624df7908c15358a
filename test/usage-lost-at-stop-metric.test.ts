import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { call, startSeeded } from './support/harness.ts';

test('usage counts a failed last flush at stop left are in /metrics: gatehouse_records_lost_total{log="usage"}', async () => {
  const { h, ids } = await startSeeded({ GATEHOUSE_STORE_BUSY_TIMEOUT_MS: '100', GATEHOUSE_REQUEST_LOG_ENABLED: 'false' });
  const holder = new DatabaseSync(join(h.dir, 'gatehouse.db'), { timeout: 5000 });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await call(h, '/orders/x', { key: ids.secret })).status, 200);
    const before = await (await fetch(`${h.gh.controlUrl}/metrics`)).text();
    assert.match(before, /^gatehouse_records_lost_total\{log="usage",reason="last_flush_failed"\} 0$/m);
    // The store is locked past the busy timeout: the last usage flush at stop cannot write.
    holder.exec('BEGIN EXCLUSIVE');
    await assert.rejects(h.close(), /3 requests not counted in usage/);
    assert.match(await h.gh.metrics!.scrape(), /^gatehouse_records_lost_total\{log="usage",reason="last_flush_failed"\} 3$/m);
  } finally {
    if (holder.isTransaction) holder.exec('ROLLBACK');
    holder.close();
    await h.close().catch((error: unknown) => assert.match(String(error), /not counted in usage/));
  }
});
