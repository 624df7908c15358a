import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { call, seed, startHarness, TestClock } from './support/harness.ts';
import { TEST_MASTER_KEY } from './support/oauth.ts';

const SCANS = `webhooks:
  pollIntervalMs: 600000
  scans:
    intervalSeconds: 3600
    quotaThresholdPercents: [50, 100]
`;

test('a graceful stop announces the quota thresholds crossed by the uses its last usage flush writes', async () => {
  const h = await startHarness({ GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY }, new TestClock(), SCANS);
  let closed = false;
  try {
    const ids = await seed(h);
    const key = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], quota: { limit: 2, period: 'day' } });
    // The quota's last two uses, still in memory (usage is flushed every hour here) when SIGTERM comes.
    for (let i = 0; i < 2; i++) assert.equal((await call(h, '/orders/x', { key: key.body.secret })).status, 200);
    await h.gh.close();
    closed = true;
    const store = openSqliteStore(join(h.dir, 'gatehouse.db'));
    try {
      const events = (await store.events.after(0, 10_000)).filter((e) => e.type === 'quota.threshold' && (e.data.key as { id: string }).id === key.body.id);
      // The uses were flushed (nothing is lost at a graceful stop); the key is now refused for the day,
      // so no later flush will cross these thresholds again: the stop is their only chance.
      assert.deepEqual(
        events.map((e) => e.data.percent),
        [50, 100],
      );
    } finally {
      await store.close();
    }
  } finally {
    if (!closed) await h.gh.close();
    await h.close();
  }
});
