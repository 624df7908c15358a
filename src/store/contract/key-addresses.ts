import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { ApiKey, App } from '../../domain/entities.ts';
import { newId } from '../../domain/ids.ts';
import { audit, keyRecord, T0 } from './fixtures.ts';
import { OTHER_ADDRESSES, type KeyAddressUse, type Store } from '../port.ts';

/** Where keys are used from: written by usage batches, read newest first, capped per key, deleted with the key and by age. */
export function keyAddressContract(current: () => Store): void {
  describe('key addresses', () => {
    let app: App;
    let seq = 0;
    beforeEach(async () => {
      app = { id: newId('app', T0 + ++seq), name: 'addresses', owner: null, metadata: {}, createdAt: T0, updatedAt: T0 };
      await current().apps.create(app, audit('app.created', 'app', app.id));
    });
    const createKey = async (): Promise<ApiKey> => {
      const key = keyRecord(app.id, { id: newId('key', T0 + ++seq) });
      await current().keys.create(key, audit('key.created', 'key', key.id));
      return key;
    };
    const use = (keyId: string, address: string, firstSeen: number, lastSeen = firstSeen, requests = 1): KeyAddressUse => ({
      keyId,
      address,
      firstSeen,
      lastSeen,
      requests,
    });
    const record = (addresses: KeyAddressUse[], addressesPerKey?: number) =>
      current().usage.record({ keys: [], quotas: [], addresses, ...(addressesPerKey === undefined ? {} : { addressesPerKey }) });
    /** Every address of the key, by following cursors two at a time. */
    const all = async (keyId: string): Promise<KeyAddressUse[]> => {
      const out: KeyAddressUse[] = [];
      let cursor: string | undefined;
      do {
        const page = await current().keyAddresses.list(keyId, { limit: 2, cursor });
        out.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return out;
    };

    test('batches add up per key and address: first seen the earliest, last seen the latest, requests summed', async () => {
      const key = await createKey();
      await record([use(key.id, '192.0.2.1', T0 + 10, T0 + 20, 3)]);
      // An older batch arriving late (a flush put back) moves neither end inwards.
      await record([use(key.id, '192.0.2.1', T0 + 5, T0 + 15, 2)]);
      assert.deepEqual(await all(key.id), [use(key.id, '192.0.2.1', T0 + 5, T0 + 20, 5)]);
      assert.equal(await current().keyAddresses.others(key.id), null);
    });

    test('list is last seen newest first, ties by address, across cursor pages; other keys stay apart', async () => {
      const key = await createKey();
      const other = await createKey();
      await record([
        use(key.id, '192.0.2.1', T0, T0 + 1),
        use(key.id, '2001:db8::1', T0, T0 + 3),
        use(key.id, '192.0.2.2', T0, T0 + 3),
        use(key.id, '192.0.2.3', T0, T0 + 2),
        use(key.id, '192.0.2.4', T0, T0 + 3),
        use(other.id, '198.51.100.1', T0, T0 + 9),
      ]);
      assert.deepEqual(
        (await all(key.id)).map((u) => u.address),
        ['2001:db8::1', '192.0.2.4', '192.0.2.2', '192.0.2.3', '192.0.2.1'],
      );
      assert.deepEqual(
        (await all(other.id)).map((u) => u.address),
        ['198.51.100.1'],
      );
    });

    test('past addressesPerKey, new addresses add to the key’s other-addresses row; known ones keep their own', async () => {
      const key = await createKey();
      await record([use(key.id, '192.0.2.1', T0), use(key.id, '192.0.2.2', T0 + 1)], 2);
      await record([use(key.id, '192.0.2.3', T0 + 2, T0 + 2, 4), use(key.id, '192.0.2.1', T0 + 3), use(key.id, '192.0.2.4', T0 + 4)], 2);
      // The recorder's own overflow entry adds to the same row.
      await record([use(key.id, OTHER_ADDRESSES, T0 + 1, T0 + 5, 10)], 2);
      assert.deepEqual(
        (await all(key.id)).map((u) => [u.address, u.requests]),
        [
          ['192.0.2.1', 2],
          ['192.0.2.2', 1],
        ],
      );
      assert.deepEqual(await current().keyAddresses.others(key.id), use(key.id, OTHER_ADDRESSES, T0 + 1, T0 + 5, 15));
    });

    test('countSeenSince counts the addresses last seen at or after a time, and says whether other addresses were', async () => {
      const key = await createKey();
      await record([use(key.id, '192.0.2.1', T0, T0 + 10), use(key.id, '192.0.2.2', T0, T0 + 20), use(key.id, '192.0.2.3', T0, T0 + 30)], 3);
      await record([use(key.id, '192.0.2.9', T0 + 25, T0 + 25)], 3);
      assert.deepEqual(await current().keyAddresses.countSeenSince(key.id, T0 + 20), { addresses: 2, others: true });
      assert.deepEqual(await current().keyAddresses.countSeenSince(key.id, T0 + 26), { addresses: 1, others: false });
      assert.deepEqual(await current().keyAddresses.countSeenSince(key.id, T0 + 31), { addresses: 0, others: false });
    });

    test('addresses go with their key, and later uses of a deleted or unknown key are dropped', async () => {
      const key = await createKey();
      await record([use(key.id, '192.0.2.1', T0)]);
      assert.equal(await current().keys.delete(key.id, audit('key.deleted', 'key', key.id)), true);
      assert.deepEqual(await all(key.id), []);
      await record([use(key.id, '192.0.2.1', T0 + 1), use('key_unknown', '192.0.2.1', T0 + 1)]);
      assert.deepEqual(await all(key.id), []);
      assert.deepEqual(await all('key_unknown'), []);
    });

    test('deleteSeenBefore deletes rows last seen before a time, the oldest days first, at most `limit` at a time', async () => {
      const key = await createKey();
      const day = 86_400_000;
      await record([use(key.id, '192.0.2.1', T0, T0 + 1), use(key.id, '192.0.2.2', T0, T0 + day), use(key.id, '192.0.2.3', T0, T0 + 2 * day)], 2);
      assert.equal(await current().keyAddresses.deleteSeenBefore(T0 + 2 * day, 1), 1);
      assert.deepEqual(
        (await all(key.id)).map((u) => u.address),
        ['192.0.2.2'],
      );
      assert.equal((await current().keyAddresses.others(key.id))?.lastSeen, T0 + 2 * day);
      assert.equal(await current().keyAddresses.deleteSeenBefore(T0 + 2 * day, 10), 1, 'a row seen at the time itself is kept');
      assert.equal(await current().keyAddresses.deleteSeenBefore(T0 + 2 * day + 1, 10), 1);
      assert.deepEqual(await all(key.id), []);
      assert.equal(await current().keyAddresses.others(key.id), null);
    });
  });
}
