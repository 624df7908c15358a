import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { EventInput } from '../../domain/events.ts';
import { ConflictError, type Store } from '../port.ts';
import { audit, makeApi, makeApp, storeKey } from './fixtures.ts';

const created = (id: string): EventInput => ({ type: 'key.created', data: { id } });

/** The webhook outbox: events written with their change, in its transaction, read back in order. */
export function eventsContract(current: () => Store): void {
  describe('event outbox', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    test("a change's events are recorded with it, in order, with ids and times", async () => {
      const app = makeApp(1);
      await store.apps.create(app, { ...audit('app.created', 'app', app.id), events: [created('a'), created('b')] });
      const key = await storeKey(store, app.id);
      await store.keys.update({ ...key, enabled: false }, { ...audit('key.revoked', 'key', key.id), events: [{ type: 'key.revoked', data: { id: key.id } }] });
      const events = await store.events.after(0, 10);
      assert.deepEqual(
        events.map((e) => [e.type, e.data]),
        [
          ['key.created', { id: 'a' }],
          ['key.created', { id: 'b' }],
          ['key.revoked', { id: key.id }],
        ],
      );
      assert.ok(events[0]!.seq < events[1]!.seq && events[1]!.seq < events[2]!.seq);
      assert.equal(new Set(events.map((e) => e.id)).size, 3);
      assert.ok(events.every((e) => e.id.startsWith('evt_') && Number.isFinite(e.at) && e.at > 0));
      assert.deepEqual(await store.events.get(events[2]!.id), events[2]);
      assert.equal(await store.events.get('evt_missing'), null);
    });

    test('a change that fails records none of its events', async () => {
      const api = makeApi(1);
      await store.apis.create(api, audit('api.created', 'api', api.id));
      const clash = { ...makeApi(2), name: api.name };
      await assert.rejects(store.apis.create(clash, { ...audit('api.created', 'api', clash.id), events: [created('never')] }), ConflictError);
      const app = makeApp(2);
      assert.equal(await store.apps.update(app, { ...audit('app.updated', 'app', app.id), events: [created('missing')] }), false);
      assert.deepEqual(await store.events.after(0, 10), []);
    });

    test('audit.append records the events it carries', async () => {
      await store.audit.append({ ...audit('login.failed', 'user', 'usr_1'), events: [{ type: 'login.failed_burst', data: { user: 'usr_1' } }] });
      assert.deepEqual(
        (await store.events.after(0, 10)).map((e) => e.type),
        ['login.failed_burst'],
      );
    });

    test('append records events on their own, skipping a dedupe key seen before', async () => {
      const first = await store.events.append([
        { type: 'key.expiring', data: { id: 'k1' }, dedupeKey: 'key.expiring:k1:7d' },
        { type: 'key.expiring', data: { id: 'k2' }, dedupeKey: 'key.expiring:k2:7d' },
      ]);
      assert.equal(first.length, 2);
      const second = await store.events.append([
        { type: 'key.expiring', data: { id: 'k1' }, dedupeKey: 'key.expiring:k1:7d' },
        { type: 'key.expiring', data: { id: 'k1' }, dedupeKey: 'key.expiring:k1:1d' },
        created('no-key'),
        created('no-key'),
      ]);
      assert.deepEqual(
        second.map((e) => [e.data, e.seq > first[1]!.seq]),
        [
          [{ id: 'k1' }, true],
          [{ id: 'no-key' }, true],
          [{ id: 'no-key' }, true],
        ],
      );
      assert.equal((await store.events.after(0, 100)).length, 5);
    });

    test('after pages by seq and deleteBefore cuts the oldest, a bounded part at a time', async () => {
      const recorded = await store.events.append([1, 2, 3, 4, 5].map((n) => created(`e${n}`)));
      const page1 = await store.events.after(0, 2);
      const page2 = await store.events.after(page1.at(-1)!.seq, 2);
      const page3 = await store.events.after(page2.at(-1)!.seq, 2);
      assert.deepEqual([...page1, ...page2, ...page3], recorded);
      const future = recorded[0]!.at + 1;
      assert.equal(await store.events.deleteBefore(future, 2), 2);
      assert.equal(await store.events.deleteBefore(future, 10), 3);
      assert.deepEqual(await store.events.after(0, 10), []);
    });
  });
}
