import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { ApiKey, App } from '../../domain/entities.ts';
import type { Store, UsageBatch } from '../port.ts';
import { T0, audit, makeApp, storeKey } from './fixtures.ts';

/** Usage flushed in batches: requests per day, quota use per key lineage and per counter, last use. */
export function usageContract(current: () => Store): void {
  describe('usage', () => {
    let store: Store;
    let app: App;
    beforeEach(async () => {
      store = current();
      app = makeApp(1);
      await store.apps.create(app, audit('app.created', 'app', app.id));
    });
    const createKey = (overrides: Partial<ApiKey> = {}) => storeKey(store, app.id, overrides);

    test('usage.record adds counter deltas per period, for quotas counted per app or user', async () => {
      await store.usage.record({ keys: [], quotas: [], counters: [{ counter: 'api:a:q:u:1', period: '2026-11', delta: 2 }] });
      await store.usage.record({
        keys: [],
        quotas: [],
        counters: [
          { counter: 'api:a:q:u:1', period: '2026-11', delta: 3 },
          { counter: 'api:a:q:u:2', period: '2026-11', delta: 1 },
        ],
      });
      assert.equal(await store.usage.counterUsed('api:a:q:u:1', '2026-11'), 5);
      assert.equal(await store.usage.counterUsed('api:a:q:u:2', '2026-11'), 1);
      assert.equal(await store.usage.counterUsed('api:a:q:u:1', '2026-12'), 0);
    });

    test('usage.record adds deltas per day and per quota period', async () => {
      const key = await createKey();
      const day = (d: string, requests: number) => ({ keyId: key.id, day: d, requests, lastUsedAt: T0 });
      await store.usage.record({ keys: [day('2026-11-29', 2), day('2026-11-28', 1)], quotas: [{ lineageId: key.id, period: '2026-11', delta: 2 }] });
      await store.usage.record({
        keys: [day('2026-11-29', 5)],
        quotas: [
          { lineageId: key.id, period: '2026-11', delta: 5 },
          { lineageId: key.id, period: '2026-12', delta: 1 },
        ],
      });
      assert.deepEqual(await store.usage.requestsByDay(key.id), [
        { day: '2026-11-28', requests: 1 },
        { day: '2026-11-29', requests: 7 },
      ]);
      assert.equal(await store.usage.quotaUsed(key.id, '2026-11'), 7);
      assert.equal(await store.usage.quotaUsed(key.id, '2026-12'), 1);
      assert.equal(await store.usage.quotaUsed(key.id, '2027-01'), 0);
    });

    test('usage.record answers the quota totals it left: every earlier batch counted, a lineage with no key absent', async () => {
      const key = await createKey();
      assert.deepEqual(await store.usage.record({ keys: [], quotas: [{ lineageId: key.id, period: '2026-11', delta: 2 }] }), [
        { lineageId: key.id, period: '2026-11', used: 2 },
      ]);
      const totals = await store.usage.record({
        keys: [],
        quotas: [
          { lineageId: key.id, period: '2026-11', delta: 3 },
          { lineageId: 'no-such-lineage', period: '2026-11', delta: 1 },
        ],
      });
      assert.deepEqual(totals, [{ lineageId: key.id, period: '2026-11', used: 5 }]);
      assert.deepEqual(await store.usage.record({ keys: [], quotas: [] }), []);
    });

    test('usage.record with totalsFromPercent answers only the totals at or past that share of the limit the batch gives, and counts every one', async () => {
      const near = await createKey();
      const far = await createKey();
      const unlimited = await createKey();
      const batch = (quotas: UsageBatch['quotas']): UsageBatch => ({ keys: [], quotas, totalsFromPercent: 80 });
      const totals = await store.usage.record(
        batch([
          { lineageId: near.id, period: '2026-11', delta: 8, limit: 10 },
          { lineageId: far.id, period: '2026-11', delta: 7, limit: 10 },
          { lineageId: unlimited.id, period: '2026-11', delta: 50 },
        ]),
      );
      assert.deepEqual(totals, [{ lineageId: near.id, period: '2026-11', used: 8 }]);
      assert.deepEqual([await store.usage.quotaUsed(far.id, '2026-11'), await store.usage.quotaUsed(unlimited.id, '2026-11')], [7, 50]);
      // The total is every batch's: one more use takes `far` to 8 of 10, and it is answered.
      assert.deepEqual(await store.usage.record(batch([{ lineageId: far.id, period: '2026-11', delta: 1, limit: 10 }])), [
        { lineageId: far.id, period: '2026-11', used: 8 },
      ]);
    });

    test('usage.record with no listener (totalsFromPercent Infinity) answers no total and still counts first and later uses', async () => {
      const key = await createKey();
      const batch = (delta: number): UsageBatch => ({
        keys: [],
        quotas: [
          { lineageId: key.id, period: '2026-11', delta, limit: 10 },
          { lineageId: 'no-such-lineage', period: '2026-11', delta },
        ],
        totalsFromPercent: Infinity,
      });
      assert.deepEqual(await store.usage.record(batch(9)), []);
      assert.deepEqual(await store.usage.record(batch(4)), []);
      assert.equal(await store.usage.quotaUsed(key.id, '2026-11'), 13);
      assert.equal(await store.usage.quotaUsed('no-such-lineage', '2026-11'), 0);
    });

    test('lastUsedFrom is the address of the latest use; an older batch or an update cannot move it back', async () => {
      const key = await createKey();
      const used = (lastUsedAt: number, lastUsedFrom?: string) =>
        store.usage.record({ keys: [{ keyId: key.id, day: '2026-11-29', requests: 1, lastUsedAt, ...(lastUsedFrom ? { lastUsedFrom } : {}) }], quotas: [] });
      await used(T0 + 100, '192.0.2.1');
      await used(T0 + 50, '192.0.2.2');
      assert.equal((await store.keys.get(key.id))?.lastUsedFrom, '192.0.2.1');
      await used(T0 + 150);
      assert.equal((await store.keys.get(key.id))?.lastUsedFrom, '192.0.2.1', 'a use without an address keeps the last one known');
      await store.keys.update({ ...key, lastUsedFrom: '198.51.100.9', name: 'stale copy' }, audit('key.updated', 'key', key.id));
      assert.equal((await store.keys.findByHash(key.hash))?.lastUsedFrom, '192.0.2.1');
      await used(T0 + 200, '2001:db8::1');
      assert.equal((await store.keys.list({ limit: 10, now: T0 })).items.find((k) => k.id === key.id)?.lastUsedFrom, '2001:db8::1');
    });

    test('lastUsedAt only grows, and a key update does not move it back', async () => {
      const key = await createKey();
      const used = (lastUsedAt: number) => store.usage.record({ keys: [{ keyId: key.id, day: '2026-11-29', requests: 1, lastUsedAt }], quotas: [] });
      await used(T0 + 100);
      await used(T0 + 50);
      assert.equal((await store.keys.get(key.id))?.lastUsedAt, T0 + 100);
      assert.equal((await store.keys.findByHash(key.hash))?.lastUsedAt, T0 + 100);
      await store.keys.update({ ...key, name: 'stale copy' }, audit('key.updated', 'key', key.id));
      assert.equal((await store.keys.get(key.id))?.lastUsedAt, T0 + 100);
      await used(T0 + 200);
      const listed = await store.keys.list({ limit: 10, now: T0 });
      assert.equal(listed.items[0]?.lastUsedAt, T0 + 200);
    });
  });
}
