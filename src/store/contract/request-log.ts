import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RequestLogEntry, RequestLogFilters, Store } from '../port.ts';
import { makeRequestLogEntry, T0 } from './fixtures.ts';
import { entryBatch } from '../entry-batch.ts';

const DAY = 86_400_000;

/** The request log's part of the store contract: append, filtered reads newest first with a cursor, retention. */
export function requestLogContract(current: () => Store): void {
  const entry = makeRequestLogEntry;
  /** Every entry the filters select, by following cursors two at a time. */
  const all = async (filters: RequestLogFilters = {}): Promise<RequestLogEntry[]> => {
    const out: RequestLogEntry[] = [];
    let cursor: string | undefined;
    do {
      const page = await current().requestLog.query(filters, { limit: 2, cursor });
      out.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return out;
  };
  const ids = (entries: RequestLogEntry[]) => entries.map((e) => e.requestId);

  describe('request log', () => {
    test('appended entries are read back whole, newest first; ties in time keep their arrival order, reversed', async () => {
      const first = entry({ at: T0, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', query: 'page', user: 'usr_1', clientId: 'cli_1', denialCode: null });
      const tied = [entry({ at: T0 + 5 }), entry({ at: T0 + 5, status: 429, denialCode: 'RATE_LIMITED', upstreamMs: null })];
      const unrouted = entry({
        at: T0 + 1,
        apiId: null,
        api: null,
        route: null,
        keyId: null,
        appId: null,
        userAgent: null,
        status: 404,
        denialCode: 'ROUTE_NOT_FOUND',
      });
      await current().requestLog.append(entryBatch([first, unrouted]));
      await current().requestLog.append(entryBatch(tied));
      const read = await all();
      assert.deepEqual(read, [tied[1], tied[0], unrouted, first]);
    });

    test('an empty batch writes nothing', async () => {
      await current().requestLog.append(entryBatch([]));
      assert.deepEqual(await all(), []);
    });

    test('filters: time range (since included, until not), key, app, API by id or name, user, client, status range, address, denial code', async () => {
      const e = [
        entry({ at: T0, keyId: 'key_a', appId: 'app_a' }),
        entry({ at: T0 + 10, keyId: 'key_b', appId: 'app_a', status: 401, denialCode: 'REVOKED', address: '2001:db8::1' }),
        entry({
          at: T0 + 20,
          keyId: null,
          appId: null,
          apiId: 'api_2',
          api: 'billing',
          user: 'usr_1',
          clientId: 'cli_1',
          status: 403,
          denialCode: 'INSUFFICIENT_SCOPE',
        }),
        entry({ at: T0 + 30, keyId: 'key_a', appId: 'app_a', status: 503, denialCode: 'UPSTREAM_UNAVAILABLE' }),
      ];
      await current().requestLog.append(entryBatch(e));
      const pick = (...i: number[]) => i.map((n) => e[n]!.requestId);
      assert.deepEqual(ids(await all({ since: T0 + 10 })), pick(3, 2, 1));
      assert.deepEqual(ids(await all({ until: T0 + 20 })), pick(1, 0));
      assert.deepEqual(ids(await all({ since: T0 + 10, until: T0 + 30 })), pick(2, 1));
      assert.deepEqual(ids(await all({ keyId: 'key_a' })), pick(3, 0));
      assert.deepEqual(ids(await all({ appId: 'app_a' })), pick(3, 1, 0));
      assert.deepEqual(ids(await all({ api: 'billing' })), pick(2));
      assert.deepEqual(ids(await all({ api: 'api_2' })), pick(2));
      assert.deepEqual(ids(await all({ user: 'usr_1' })), pick(2));
      assert.deepEqual(ids(await all({ clientId: 'cli_1' })), pick(2));
      assert.deepEqual(ids(await all({ status: { min: 400, max: 499 } })), pick(2, 1));
      assert.deepEqual(ids(await all({ status: { min: 200, max: 200 } })), pick(0));
      assert.deepEqual(ids(await all({ address: '2001:db8::1' })), pick(1));
      assert.deepEqual(ids(await all({ denialCode: 'UPSTREAM_UNAVAILABLE' })), pick(3));
      assert.deepEqual(ids(await all({ keyId: 'key_a', status: { min: 500, max: 599 }, since: T0 + 1 })), pick(3));
      assert.deepEqual(await all({ keyId: 'key_none' }), []);
    });

    test('cursor pages hold every entry once, across many entries at the same time', async () => {
      const batch = Array.from({ length: 9 }, (_, i) => entry({ at: T0 + (i % 3) }));
      await current().requestLog.append(entryBatch(batch));
      const read = await all();
      assert.equal(read.length, 9);
      assert.equal(new Set(ids(read)).size, 9);
      assert.deepEqual(
        read.map((r) => r.at),
        [...batch.map((b) => b.at)].sort().reverse(),
      );
      const page = await current().requestLog.query({}, { limit: 9 });
      assert.equal(page.nextCursor, null);
    });

    test('batches whose times overlap are read as one log: newest first, each entry once, on every page size', async () => {
      // Requests end out of order and workers flush apart: one batch can span another's time.
      const times = [[T0 + 50, T0 + 10, T0 + 30], [T0 + 20, T0 + 40], [T0 + 45, T0 + 5, T0 + 40, T0 + 60], [T0 + 40]];
      const batches = times.map((ats) => ats.map((at) => entry({ at })));
      for (const batch of batches) await current().requestLog.append(entryBatch(batch));
      const expected = batches.flat().map((e, arrival) => ({ e, arrival }));
      // Time, then arrival, both newest first.
      expected.sort((a, b) => b.e.at - a.e.at || b.arrival - a.arrival);
      for (const limit of [1, 2, 3, 5, 20]) {
        const read: RequestLogEntry[] = [];
        let cursor: string | undefined;
        do {
          const page = await current().requestLog.query({}, { limit, cursor });
          read.push(...page.items);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        assert.deepEqual(ids(read), ids(expected.map((x) => x.e)), `pages of ${limit}`);
      }
      assert.deepEqual(ids(await all({ since: T0 + 20, until: T0 + 45 })), ids(expected.map((x) => x.e).filter((e) => e.at >= T0 + 20 && e.at < T0 + 45)));
    });

    test('deleteBefore removes whole days before the given one, oldest first, at most `limit` at a time', async () => {
      const day0 = Date.UTC(2026, 10, 20);
      const e = [0, 0.5, 1, 1.99, 2, 3].map((d) => entry({ at: day0 + d * DAY }));
      // Each on its own: an adapter may keep a batch together (the SQLite one deletes whole batches).
      for (const one of e) await current().requestLog.append(entryBatch([one]));
      assert.equal(await current().requestLog.deleteBefore('2026-11-22', 3), 3);
      assert.deepEqual(
        ids(await all()),
        [e[5], e[4], e[3]].map((x) => x!.requestId),
      );
      assert.equal(await current().requestLog.deleteBefore('2026-11-22', 3), 1);
      assert.equal(await current().requestLog.deleteBefore('2026-11-22', 3), 0);
      assert.deepEqual(
        ids(await all()),
        [e[5], e[4]].map((x) => x!.requestId),
      );
    });
  });
}
