import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { T0 } from './fixtures.ts';
import { LATENCY_BUCKETS } from '../../domain/latency-histogram.ts';
import type { Store, UsageCell, UsageQuery, UsageRow } from '../port.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A histogram with the given counts in the given buckets: `{ 3: 2 }` is two requests in bucket 3. */
const latency = (counts: Record<number, number> = {}): number[] => Array.from({ length: LATENCY_BUCKETS }, (_, i) => counts[i] ?? 0);

/** Usage analytics' part of the store contract: rollups that add up exactly, grouping, filters, retention. */
export function usageAnalyticsContract(current: () => Store): void {
  const day0 = T0 - (T0 % DAY);
  const cell = (overrides: Partial<UsageCell> = {}): UsageCell => ({
    minute: day0 + 10 * HOUR,
    apiId: 'api_1',
    route: '/orders/items/*',
    keyId: 'key_1',
    appId: 'app_1',
    statusClass: '2xx',
    denialCode: null,
    requests: 1,
    bytesIn: 10,
    bytesOut: 100,
    durationUs: 1500,
    latency: latency({ 1: 1 }),
    ...overrides,
  });
  const query = (overrides: Partial<UsageQuery> = {}): Promise<UsageRow[]> =>
    current().usageAnalytics.query({
      granularity: 'minute',
      from: day0 - DAY,
      until: day0 + 2 * DAY,
      groupBy: [],
      filters: {},
      perBucket: false,
      limit: 1000,
      ...overrides,
    });

  describe('usage analytics', () => {
    test('each cell lands in its minute, hour and day; the hour and day rows are the sums of their minutes', async () => {
      await current().usageAnalytics.add([
        cell({ minute: day0 + 10 * HOUR, requests: 2, bytesIn: 5, bytesOut: 7, durationUs: 11, latency: latency({ 0: 2 }) }),
        cell({ minute: day0 + 10 * HOUR + 59 * MINUTE, requests: 3, bytesIn: 1, bytesOut: 2, durationUs: 3, latency: latency({ 0: 1, 13: 2 }) }),
        cell({ minute: day0 + 11 * HOUR, requests: 4 }),
        cell({ minute: day0 + DAY + 5 * MINUTE, requests: 5 }),
      ]);
      const points = async (granularity: UsageQuery['granularity']) =>
        (await query({ granularity, perBucket: true })).map((r) => [r.bucket, r.requests] as const);
      assert.deepEqual(await points('minute'), [
        [day0 + 10 * HOUR, 2],
        [day0 + 10 * HOUR + 59 * MINUTE, 3],
        [day0 + 11 * HOUR, 4],
        [day0 + DAY + 5 * MINUTE, 5],
      ]);
      assert.deepEqual(await points('hour'), [
        [day0 + 10 * HOUR, 5],
        [day0 + 11 * HOUR, 4],
        [day0 + DAY, 5],
      ]);
      assert.deepEqual(await points('day'), [
        [day0, 9],
        [day0 + DAY, 5],
      ]);
      const [hour10] = await query({ granularity: 'hour', from: day0 + 10 * HOUR, until: day0 + 11 * HOUR });
      assert.deepEqual(hour10, { bucket: null, group: {}, requests: 5, bytesIn: 6, bytesOut: 9, durationUs: 14, latency: latency({ 0: 3, 13: 2 }) });
    });

    test('a cell written again adds to its rows, "none" dimensions included, instead of making new rows', async () => {
      const anonymous = cell({ apiId: null, route: null, keyId: null, appId: null, statusClass: '4xx', denialCode: 'ROUTE_NOT_FOUND' });
      await current().usageAnalytics.add([anonymous]);
      await current().usageAnalytics.add([anonymous, anonymous]);
      const rows = await query({ groupBy: ['key', 'app', 'api', 'route', 'statusClass', 'denialCode'], perBucket: true });
      assert.deepEqual(rows, [
        {
          bucket: anonymous.minute,
          group: { key: null, app: null, api: null, route: null, statusClass: '4xx', denialCode: 'ROUTE_NOT_FOUND' },
          requests: 3,
          bytesIn: 30,
          bytesOut: 300,
          durationUs: 4500,
          latency: latency({ 1: 3 }),
        },
      ]);
    });

    test('latency histograms add bucket by bucket, on upsert and in every sum, grouped or not', async () => {
      await current().usageAnalytics.add([
        cell({ requests: 3, latency: latency({ 0: 1, 5: 2 }) }),
        cell({ minute: day0 + 10 * HOUR + MINUTE, requests: 2, latency: latency({ 5: 1, 13: 1 }) }),
        cell({ keyId: 'key_2', requests: 1, latency: latency({ 12: 1 }) }),
      ]);
      await current().usageAnalytics.add([cell({ requests: 1, latency: latency({ 0: 1 }) })]);
      const [hour] = await query({ granularity: 'hour' });
      assert.deepEqual(hour!.latency, latency({ 0: 2, 5: 3, 12: 1, 13: 1 }));
      const byKey = await query({ groupBy: ['key'], perBucket: true });
      assert.deepEqual(
        byKey.map((r) => [r.bucket, r.group.key, r.latency]),
        [
          [day0 + 10 * HOUR, 'key_1', latency({ 0: 2, 5: 2 })],
          [day0 + 10 * HOUR, 'key_2', latency({ 12: 1 })],
          [day0 + 10 * HOUR + MINUTE, 'key_1', latency({ 5: 1, 13: 1 })],
        ],
      );
    });

    test('grouped and filtered, by a value or by "none"', async () => {
      await current().usageAnalytics.add([
        cell({ keyId: 'key_1', requests: 3 }),
        cell({ keyId: 'key_2', appId: 'app_2', requests: 4 }),
        cell({ keyId: 'key_2', appId: 'app_2', statusClass: '4xx', denialCode: 'RATE_LIMITED', requests: 2 }),
        cell({ keyId: null, appId: null, statusClass: '4xx', denialCode: 'MISSING_API_KEY', requests: 1 }),
      ]);
      const byKey = await query({ groupBy: ['key'] });
      assert.deepEqual(
        byKey.map((r) => [r.group.key, r.requests]),
        [
          [null, 1],
          ['key_1', 3],
          ['key_2', 6],
        ],
      );
      const forwarded = await query({ groupBy: ['app'], filters: { denialCode: null } });
      assert.deepEqual(
        forwarded.map((r) => [r.group.app, r.requests]),
        [
          ['app_1', 3],
          ['app_2', 4],
        ],
      );
      const [denied] = await query({ filters: { app: 'app_2', statusClass: '4xx' } });
      assert.equal(denied!.requests, 2);
      assert.deepEqual(await query({ filters: { key: 'key_9' } }), []);
    });

    test('the range is [from, until) on bucket starts, and at most limit + 1 rows are answered', async () => {
      await current().usageAnalytics.add([0, 1, 2, 3, 4].map((i) => cell({ minute: day0 + i * MINUTE })));
      const inRange = await query({ from: day0 + MINUTE, until: day0 + 3 * MINUTE, perBucket: true });
      assert.deepEqual(
        inRange.map((r) => r.bucket),
        [day0 + MINUTE, day0 + 2 * MINUTE],
      );
      assert.equal((await query({ perBucket: true, limit: 2 })).length, 3);
    });

    test('retention deletes one granularity before a time, a bounded part per call', async () => {
      await current().usageAnalytics.add([0, 1, 2, 3].map((i) => cell({ minute: day0 + i * MINUTE })));
      assert.equal(await current().usageAnalytics.deleteBefore('minute', day0 + 3 * MINUTE, 2), 2);
      assert.equal(await current().usageAnalytics.deleteBefore('minute', day0 + 3 * MINUTE, 2), 1);
      assert.equal(await current().usageAnalytics.deleteBefore('minute', day0 + 3 * MINUTE, 2), 0);
      assert.deepEqual(
        (await query({ perBucket: true })).map((r) => r.bucket),
        [day0 + 3 * MINUTE],
      );
      // The hour and day rows keep every minute counted, deleted minutes included.
      assert.equal((await query({ granularity: 'hour' }))[0]!.requests, 4);
      assert.equal((await query({ granularity: 'day' }))[0]!.requests, 4);
    });
  });
}
