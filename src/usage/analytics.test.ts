import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { testRequestRecord } from '../gateway/test-exchange.ts';
import { StorageUnavailableError, type Store, type UsageCell, type UsageQuery } from '../store/port.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { Health } from '../telemetry/health.ts';
import { GatehouseMetrics } from '../telemetry/metrics.ts';
import { USAGE_ANALYTICS, UsageAnalytics, type UsageAnalyticsOptions } from './analytics.ts';

const T0 = Date.UTC(2026, 10, 29, 12);
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('UsageAnalytics', () => {
  let store: Store;
  let health: Health;
  let now: number;
  beforeEach(async () => {
    store = openSqliteStore(':memory:');
    await store.migrate();
    health = new Health(pino({ level: 'silent' }), () => now);
    now = T0;
  });
  afterEach(() => store.close());

  const make = (overrides: Partial<UsageAnalyticsOptions> = {}) =>
    new UsageAnalytics({
      sink: store.usageAnalytics,
      health,
      flushIntervalMs: 60_000,
      retention: { minuteRetentionHours: 48, hourRetentionDays: 90, dayRetentionDays: 800 },
      maxCells: 1000,
      clock: () => now,
      ...overrides,
    });
  const read = (overrides: Partial<UsageQuery> = {}) =>
    store.usageAnalytics.query({
      granularity: 'minute',
      from: T0 - DAY,
      until: T0 + DAY,
      groupBy: ['key', 'app', 'api', 'route', 'statusClass', 'denialCode'],
      filters: {},
      perBucket: true,
      limit: 1000,
      ...overrides,
    });

  test('requests of one minute and combination share a cell: counts, bytes, whole microseconds and latency buckets add up', async () => {
    const analytics = make();
    analytics.observe(testRequestRecord({ startedAt: T0 + 1, bytesIn: 5, bytesOut: 10, durationMs: 1.2344 }));
    analytics.observe(testRequestRecord({ startedAt: T0 + 59_999, bytesIn: 7, bytesOut: 20, durationMs: 2 }));
    assert.equal(analytics.pending(), 1);
    await analytics.flush();
    assert.equal(analytics.pending(), 0);
    assert.deepEqual(await read(), [
      {
        bucket: T0,
        group: { key: 'key_1', app: 'app_1', api: 'api_1', route: '/orders', statusClass: '2xx', denialCode: null },
        requests: 2,
        bytesIn: 12,
        bytesOut: 30,
        durationUs: 1234 + 2000,
        // 1.2344 ms and 2 ms both fall in the 1..2 ms bucket.
        latency: [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      },
    ]);
  });

  test('a duration is bucketed to the whole microsecond, as the request log keeps it: both put it in the same bucket', async () => {
    const analytics = make();
    // The request log shows 1 ms and 2 ms (round to µs): the 0..1 and 1..2 ms buckets, not the next ones.
    analytics.observe(testRequestRecord({ startedAt: T0 + 1, durationMs: 1.0004 }));
    analytics.observe(testRequestRecord({ startedAt: T0 + 2, durationMs: 2.0000004 }));
    await analytics.flush();
    const [cell] = await read();
    assert.deepEqual(cell!.latency, [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(cell!.durationUs, 1000 + 2000);
  });

  test('flushes within one minute send only what was counted since the last; a cell with nothing new is not sent again', async () => {
    const sent: UsageCell[][] = [];
    const analytics = make({
      sink: { ...store.usageAnalytics, add: async (cells) => (sent.push(structuredClone([...cells])), store.usageAnalytics.add(cells)) },
    });
    analytics.observe(testRequestRecord({ bytesOut: 1, durationMs: 1.5 }));
    analytics.observe(testRequestRecord({ keyId: 'key_2' }));
    await analytics.flush();
    analytics.observe(testRequestRecord({ startedAt: T0 + 30_000, bytesOut: 2, durationMs: 30 }));
    assert.equal(analytics.pending(), 1);
    await analytics.flush();
    await analytics.flush();
    assert.deepEqual(
      sent.map((part) => part.map((c) => [c.keyId, c.requests, c.bytesOut, c.latency.reduce((a, b) => a + b, 0)])),
      [
        [
          ['key_1', 1, 1, 1],
          ['key_2', 1, 10, 1],
        ],
        [['key_1', 1, 2, 1]],
      ],
    );
    const rows = await read({ groupBy: ['key'] });
    assert.deepEqual(
      rows.map((r) => [r.group.key, r.requests, r.bytesOut, r.durationUs]),
      [
        ['key_1', 2, 3, 31_500],
        ['key_2', 1, 10, testRequestRecord().durationMs * 1000],
      ],
    );
  });

  test('each dimension and the minute make their own cell; no answer is status class 0', async () => {
    const analytics = make();
    const records = [
      testRequestRecord(),
      testRequestRecord({ startedAt: T0 + MINUTE }),
      testRequestRecord({ keyId: 'key_2' }),
      testRequestRecord({ appId: 'app_2' }),
      testRequestRecord({ route: '/orders/items/*' }),
      testRequestRecord({ apiId: 'api_2' }),
      testRequestRecord({ status: 503 }),
      testRequestRecord({ status: 0 }),
      testRequestRecord({ status: 429, denialCode: 'RATE_LIMITED' }),
      testRequestRecord({ status: 401, denialCode: 'MISSING_API_KEY', keyId: null, appId: null }),
      testRequestRecord({ status: 404, denialCode: 'ROUTE_NOT_FOUND', keyId: null, appId: null, apiId: null, route: null }),
    ];
    for (const r of records) analytics.observe(r);
    assert.equal(analytics.pending(), records.length);
    await analytics.flush();
    const rows = await read();
    assert.equal(rows.length, records.length);
    assert.ok(rows.every((r) => r.requests === 1));
    assert.deepEqual(rows.map((r) => r.group.statusClass).sort(), ['0', '2xx', '2xx', '2xx', '2xx', '2xx', '2xx', '4xx', '4xx', '4xx', '5xx']);
    const none = rows.find((r) => r.group.denialCode === 'ROUTE_NOT_FOUND')!;
    assert.deepEqual(none.group, { key: null, app: null, api: null, route: null, statusClass: '4xx', denialCode: 'ROUTE_NOT_FOUND' });
  });

  test('a cell counts on into later minutes, each minute apart; a request of a minute before its cell’s is counted in its own', async () => {
    const analytics = make();
    analytics.observe(testRequestRecord({ startedAt: T0 }));
    analytics.observe(testRequestRecord({ startedAt: T0 + MINUTE }));
    // Started before the minute changed, observed after.
    analytics.observe(testRequestRecord({ startedAt: T0 + 30_000 }));
    analytics.observe(testRequestRecord({ startedAt: T0 + MINUTE + 1 }));
    assert.equal(analytics.pending(), 3, 'the first minute twice (its copy and the late request), the second once');
    await analytics.flush();
    assert.equal(analytics.pending(), 0);
    assert.deepEqual(
      (await read({ groupBy: ['key'] })).map((r) => [r.bucket! - T0, r.requests]),
      [
        [0, 2],
        [MINUTE, 2],
      ],
    );
  });

  test('a request in a new minute starts a flush of the last one, without waiting for the interval', async () => {
    const analytics = make({ flushIntervalMs: MINUTE });
    analytics.start();
    try {
      analytics.observe(testRequestRecord({ startedAt: T0 }));
      analytics.observe(testRequestRecord({ startedAt: T0 + MINUTE }));
      // The interval is a minute (the longest with which a new minute flushes) and its first round is a
      // minute away: only the change of minute can have written it, within these turns.
      for (let i = 0; i < 20 && !(await read()).some((r) => r.bucket === T0); i++) await new Promise((r) => setImmediate(r));
      assert.ok((await read()).some((r) => r.bucket === T0));
      assert.equal(analytics.pending(), 0);
    } finally {
      await analytics.stop();
    }
  });

  test('with an interval longer than a minute, a new minute waits for it: the last minute’s counts are kept apart meanwhile', async () => {
    const sent: UsageCell[][] = [];
    const analytics = make({
      flushIntervalMs: 2 * MINUTE,
      sink: { ...store.usageAnalytics, add: async (cells) => (sent.push([...cells]), store.usageAnalytics.add(cells)) },
    });
    analytics.start();
    try {
      analytics.observe(testRequestRecord({ startedAt: T0 }));
      analytics.observe(testRequestRecord({ startedAt: T0 + MINUTE }));
      // Time enough for a flush to have written (the test above sees it within these turns).
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      assert.equal(sent.length, 0, 'nothing written before the interval');
      assert.equal(analytics.pending(), 2);
    } finally {
      await analytics.stop();
    }
    assert.deepEqual(
      (await read()).map((r) => [r.bucket! - T0, r.requests]),
      [
        [0, 1],
        [MINUTE, 1],
      ],
    );
  });

  test('cells unused for a whole minute are let go at a flush once they are half of them, making room under maxCells', async () => {
    const analytics = make({ maxCells: 10 });
    for (const keyId of ['key_1', 'key_2', 'key_3', 'key_4']) analytics.observe(testRequestRecord({ startedAt: T0, keyId }));
    await analytics.flush();
    analytics.observe(testRequestRecord({ startedAt: T0 + 2 * MINUTE, keyId: 'key_5' }));
    await analytics.flush();
    // Without letting key_1..key_4 go, the sixth of these would find 10 cells held.
    for (let i = 6; i <= 14; i++) analytics.observe(testRequestRecord({ startedAt: T0 + 2 * MINUTE, keyId: `key_${i}` }));
    analytics.observe(testRequestRecord({ startedAt: T0 + 2 * MINUTE, keyId: 'key_1' }));
    assert.equal(analytics.dropped(), 1, 'ten cells held: key_1 again is one too many');
    await analytics.flush();
    assert.equal((await read({ groupBy: ['key'] })).length, 14);
  });

  test('cells of a minute long over whose counts were not yet sent are sent before they are let go', async () => {
    const analytics = make({ maxCells: 10 });
    for (const keyId of ['key_1', 'key_2', 'key_3', 'key_4']) analytics.observe(testRequestRecord({ startedAt: T0, keyId }));
    analytics.observe(testRequestRecord({ startedAt: T0 + 2 * MINUTE, keyId: 'key_5' }));
    await analytics.flush();
    assert.deepEqual(
      (await read({ groupBy: ['key'] })).map((r) => [r.bucket! - T0, r.group.key, r.requests]),
      [
        [0, 'key_1', 1],
        [0, 'key_2', 1],
        [0, 'key_3', 1],
        [0, 'key_4', 1],
        [2 * MINUTE, 'key_5', 1],
      ],
    );
    await analytics.flush();
    for (let i = 6; i <= 14; i++) analytics.observe(testRequestRecord({ startedAt: T0 + 2 * MINUTE, keyId: `key_${i}` }));
    assert.equal(analytics.dropped(), 0, 'once sent, the idle cells went at the next flush');
  });

  test('a flush the store was away for puts its counts back, added to those made since; nothing is lost or counted twice', async () => {
    let fail = true;
    const analytics = make({
      sink: {
        ...store.usageAnalytics,
        add: async (cells) => {
          if (fail) throw new StorageUnavailableError('the SQLite store cannot write (SQLITE_BUSY: database is locked)', { cause: null });
          await store.usageAnalytics.add(cells);
        },
      },
    });
    analytics.observe(testRequestRecord({ bytesOut: 1 }));
    analytics.observe(testRequestRecord({ keyId: 'key_2' }));
    await assert.rejects(analytics.flush(), /SQLITE_BUSY/);
    analytics.observe(testRequestRecord({ bytesOut: 2 }));
    assert.equal(analytics.pending(), 2, 'the put-back cells and the new request share cells');
    fail = false;
    await analytics.flush();
    const rows = await read({ groupBy: ['key'] });
    assert.deepEqual(
      rows.map((r) => [r.group.key, r.requests, r.bytesOut]),
      [
        ['key_1', 2, 3],
        ['key_2', 1, 10],
      ],
    );
  });

  // A part the store refuses for what it holds (a constraint, a value it cannot hold) would be refused
  // again at every flush, with every cell after it put back behind it: analytics stopped for good.
  test('a cell the store refuses for what it holds is dropped, counted and reported; the rest of its part and later parts are written once', async () => {
    const sent: string[][] = [];
    const analytics = make({
      flushIntervalMs: 5,
      sink: {
        ...store.usageAnalytics,
        add: async (cells) => {
          sent.push(cells.map((c) => c.keyId!));
          if (cells.some((c) => c.keyId === 'key_bad')) throw new Error('CHECK constraint failed: usage_rollups');
          await store.usageAnalytics.add(cells);
        },
      },
    });
    for (let i = 0; i < 600; i++) analytics.observe(testRequestRecord({ keyId: i === 123 ? 'key_bad' : `key_${i}` }));
    analytics.observe(testRequestRecord({ keyId: 'key_bad' }));
    await analytics.flush();
    assert.equal(analytics.refused(), 2, 'both requests of the refused cell');
    assert.equal(analytics.pending(), 0, 'nothing put back for the next flush');
    assert.ok(sent.length < 40, `found by halving, not one write per cell: ${sent.length} writes`);
    const writes = sent.length;
    await analytics.flush();
    assert.equal(sent.length, writes, 'nothing sent again');
    const rows = await read({ groupBy: ['key'] });
    assert.equal(rows.length, 599);
    assert.ok(rows.every((r) => r.requests === 1 && r.group.key !== 'key_bad'));
    analytics.start();
    try {
      while (health.report().components[USAGE_ANALYTICS]?.failures !== 1) await new Promise((r) => setTimeout(r, 5));
    } finally {
      await analytics.stop();
    }
    assert.match(
      health.report().components[USAGE_ANALYTICS]!.lastError!,
      /2 requests not counted: their usage cells were refused by the store and dropped \(CHECK constraint failed/,
    );
  });

  test('the store going away while a refused part is written apart puts back what is unwritten for the next flush, writing nothing twice', async () => {
    let reachable = true;
    let refusals = 0;
    const analytics = make({
      sink: {
        ...store.usageAnalytics,
        add: async (cells) => {
          if (!reachable) throw new StorageUnavailableError('the store cannot work now', { cause: null });
          if (cells.some((c) => c.keyId === 'key_bad')) {
            // The part is refused; while its first half is written, the store goes away.
            if (++refusals === 2) reachable = false;
            throw new Error('CHECK constraint failed: usage_rollups');
          }
          await store.usageAnalytics.add(cells);
        },
      },
    });
    for (let i = 0; i < 8; i++) analytics.observe(testRequestRecord({ keyId: i === 1 ? 'key_bad' : `key_${i}` }));
    await assert.rejects(analytics.flush(), StorageUnavailableError);
    assert.equal(analytics.refused(), 0);
    reachable = true;
    await analytics.flush();
    assert.equal(analytics.refused(), 1);
    assert.equal(analytics.pending(), 0);
    const rows = await read({ groupBy: ['key'] });
    assert.deepEqual(
      rows.map((r) => [r.group.key, r.requests]),
      ['key_0', 'key_2', 'key_3', 'key_4', 'key_5', 'key_6', 'key_7'].map((k) => [k, 1]),
    );
  });

  test('past maxCells a request with a new combination is dropped and counted, one with a cell still counts; the round warns', async () => {
    const analytics = make({ maxCells: 2, flushIntervalMs: 5 });
    analytics.observe(testRequestRecord({ keyId: 'key_1' }));
    analytics.observe(testRequestRecord({ keyId: 'key_2' }));
    analytics.observe(testRequestRecord({ keyId: 'key_3' }));
    analytics.observe(testRequestRecord({ keyId: 'key_1' }));
    assert.equal(analytics.dropped(), 1);
    analytics.start();
    try {
      while (health.report().components[USAGE_ANALYTICS]?.failures !== 1) await new Promise((r) => setTimeout(r, 5));
    } finally {
      await analytics.stop();
    }
    const report = health.report();
    assert.equal(report.ready, true, 'a warning: the gateway serves on');
    assert.match(report.components[USAGE_ANALYTICS]!.lastError!, /1 requests not counted/);
    assert.deepEqual(
      (await read({ groupBy: ['key'] })).map((r) => [r.group.key, r.requests]),
      [
        ['key_1', 2],
        ['key_2', 1],
      ],
    );
  });

  test('stop flushes what is held', async () => {
    const analytics = make();
    analytics.start();
    analytics.observe(testRequestRecord());
    await analytics.stop();
    assert.equal((await read())[0]?.requests, 1);
  });

  // A gateway worker hands its cells to the main thread at stop, then exits: whatever that last flush
  // could not write is gone, and must be counted and said, not only put back into a table nobody reads.
  test('a last flush at stop that fails drops what it held, counts it as lost by the last flush (not a full buffer) and says how many requests', async () => {
    const analytics = make({
      sink: {
        ...store.usageAnalytics,
        add: async () => {
          throw new StorageUnavailableError('the main thread could not hand the cells to the writer', { cause: null });
        },
      },
    });
    analytics.start();
    analytics.observe(testRequestRecord({ keyId: 'key_1' }));
    analytics.observe(testRequestRecord({ keyId: 'key_1' }));
    analytics.observe(testRequestRecord({ keyId: 'key_2' }));
    await assert.rejects(analytics.stop(), /^Error: 3 requests not counted in usage analytics: their last flush failed \(the main thread could not hand/);
    assert.equal(analytics.lastFlushLost(), 3);
    assert.equal(analytics.dropped(), 0, 'the buffer was never full: the store did keep up');
    assert.equal(analytics.pending(), 0, 'nothing left that a later flush could write after being counted as lost');
    const metrics = new GatehouseMetrics({ perKeyLabels: false });
    metrics.countLosses({ requestLog: null, analytics, usage: null });
    const text = await metrics.registry.metrics();
    assert.match(text, /^gatehouse_records_lost_total\{log="analytics",reason="last_flush_failed"\} 3$/m);
    assert.match(text, /^gatehouse_records_lost_total\{log="analytics",reason="buffer_full"\} 0$/m);
  });

  test('retention deletes each rollup past its own period, keeping the coarser rows', async () => {
    const analytics = make({ retention: { minuteRetentionHours: 1, hourRetentionDays: 1, dayRetentionDays: 3 } });
    for (const at of [T0 - 5 * DAY, T0 - 2 * DAY, T0 - 2 * HOUR, T0 - 10 * MINUTE]) analytics.observe(testRequestRecord({ startedAt: at }));
    await analytics.flush();
    await analytics.prune();
    const buckets = async (granularity: UsageQuery['granularity']) =>
      (await read({ granularity, from: T0 - 10 * DAY, groupBy: [] })).map((r) => (T0 - r.bucket!) / HOUR);
    assert.deepEqual(await buckets('minute'), [10 / 60]);
    assert.deepEqual(await buckets('hour'), [2, 1]);
    assert.deepEqual(await buckets('day'), [48 + 12, 12]);
  });
});
