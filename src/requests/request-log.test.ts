import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import type { Api } from '../domain/entities.ts';
import type { RequestRecord } from '../gateway/observer.ts';
import { testRequestRecord } from '../gateway/test-exchange.ts';
import { StorageUnavailableError, type RequestLogEntry, type Store } from '../store/port.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { entriesOf, entryBatch } from '../store/entry-batch.ts';
import { makeRequestLogEntry } from '../store/contract/fixtures.ts';
import { Health } from '../telemetry/health.ts';
import { GatehouseMetrics } from '../telemetry/metrics.ts';
import { REQUEST_LOG, RequestLog, type RequestLogOptions, type RequestLogSink } from './request-log.ts';

const NOW = Date.UTC(2026, 10, 29, 12);
const DAY = 86_400_000;
let seq = 0;
const record = (overrides: Partial<RequestRecord> = {}): RequestRecord =>
  testRequestRecord({ startedAt: NOW, query: '?page=2', requestId: `r-${++seq}`, ...overrides });
const api = (id: string, requestLog: Api['requestLog']): Api => ({
  id,
  name: id,
  listenPath: `/${id}`,
  upstreamUrl: 'http://127.0.0.1:9',
  auth: { type: 'public', scopes: [] },
  tokens: { audience: `urn:${id}`, accessTokenTtlSeconds: 900 },
  timeoutMs: 1000,
  createdAt: NOW,
  updatedAt: NOW,
  ...(requestLog === undefined ? {} : { requestLog }),
});

describe('RequestLog', () => {
  let dir: string;
  let store: Store;
  let health: Health;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-requests-'));
    store = openSqliteStore(join(dir, 'gatehouse.db'));
    await store.migrate();
    health = new Health(pino({ level: 'silent' }), () => NOW);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const stored = async (): Promise<RequestLogEntry[]> => (await store.requestLog.query({}, { limit: 100_000 })).items;
  const make = (o: Partial<RequestLogOptions> = {}) =>
    new RequestLog({ sink: store.requestLog, health, bufferRecords: 100, flushRecords: 1000, flushIntervalMs: 1000, retentionDays: 7, clock: () => NOW, ...o });

  test('records are buffered, then written by a flush in parts of 500, oldest first', async () => {
    const appended: number[] = [];
    const sink: RequestLogSink = { ...store.requestLog, append: async (batch) => (appended.push(batch.entries), store.requestLog.append(batch)) };
    const log = make({ sink, bufferRecords: 5000, flushRecords: 10_000 });
    for (let i = 0; i < 2500; i++) log.observe(record({ startedAt: NOW + i }));
    assert.equal(log.pending(), 2500);
    assert.deepEqual(await stored(), []);
    await log.flush();
    assert.deepEqual(appended, [500, 500, 500, 500, 500]);
    assert.equal(log.pending(), 0);
    assert.equal(log.written(), 2500);
    const read = await stored();
    assert.equal(read.length, 2500);
    assert.equal(read[0]!.at, NOW + 2499);
    assert.equal(read[0]!.query, 'page', 'values are not kept by default');
  });

  test('the buffer is bounded: records past bufferRecords are dropped and counted, never queued', async () => {
    const log = make({ bufferRecords: 10 });
    for (let i = 0; i < 25; i++) log.observe(record());
    assert.equal(log.pending(), 10);
    assert.equal(log.dropped(), 15);
    await log.flush();
    assert.equal((await stored()).length, 10);
    log.observe(record());
    assert.equal(log.pending(), 1, 'room again once written');
  });

  test('records being written count against the bound; a failed part is kept with the parts after it, ahead of newer records', async () => {
    let release!: () => void;
    let fail = true;
    const sink: RequestLogSink = {
      ...store.requestLog,
      append: async (batch) => {
        await new Promise<void>((resolve) => (release = resolve));
        if (fail) throw new StorageUnavailableError('the SQLite store cannot write (SQLITE_BUSY: database is locked)', { cause: null });
        await store.requestLog.append(batch);
      },
    };
    const log = make({ sink, bufferRecords: 4 });
    for (let i = 0; i < 3; i++) log.observe(record({ requestId: `old-${i}` }));
    const flushing = log.flush();
    log.observe(record({ requestId: 'new-0' }));
    log.observe(record({ requestId: 'new-1' }));
    assert.equal(log.pending(), 4);
    assert.equal(log.dropped(), 1, 'three in flight and one buffered fill the bound');
    await new Promise((r) => setImmediate(r));
    release();
    await assert.rejects(flushing, /SQLITE_BUSY/);
    assert.equal(log.pending(), 4);
    fail = false;
    const retry = log.flush();
    await new Promise((r) => setImmediate(r));
    release();
    await retry;
    assert.deepEqual((await stored()).map((e) => e.requestId).reverse(), ['old-0', 'old-1', 'old-2', 'new-0']);
  });

  test('a flush of several parts that fails part-way keeps the part that failed and those after it, ahead of what arrived during the flush', async () => {
    let calls = 0;
    const sink: RequestLogSink = {
      ...store.requestLog,
      append: async (batch) => {
        calls++;
        if (calls === 2) throw new StorageUnavailableError('the SQLite store cannot write (SQLITE_BUSY: database is locked)', { cause: null });
        await store.requestLog.append(batch);
      },
    };
    const log = make({ sink, bufferRecords: 5000, flushRecords: 10_000 });
    for (let i = 0; i < 1200; i++) log.observe(record({ requestId: `old-${i}`, startedAt: NOW + i }));
    const flushing = log.flush();
    // Arrives while the first part is being written: buffered apart, written after the older ones.
    log.observe(record({ requestId: 'new-0', startedAt: NOW + 5000 }));
    await assert.rejects(flushing, /SQLITE_BUSY/);
    assert.equal(log.written(), 500);
    assert.equal(log.pending(), 701);
    await log.flush();
    assert.equal(log.written(), 1201);
    assert.equal(log.pending(), 0);
    const ids = (await stored()).map((e) => e.requestId).reverse();
    assert.deepEqual(ids, [...Array.from({ length: 1200 }, (_, i) => `old-${i}`), 'new-0'], 'every record once, in order');
  });

  test('an API that opted out is not buffered; one that opted in keeps query values without credentials', async () => {
    const log = make();
    log.configure([api('api_quiet', false), api('api_full', { query: true }), api('api_plain', undefined)]);
    log.observe(record({ apiId: 'api_quiet' }));
    log.observe(record({ apiId: 'api_full', query: '?month=11&access_token=abc' }));
    log.observe(record({ apiId: 'api_plain', query: '?month=11' }));
    log.observe(record({ apiId: null, query: '?month=11' }));
    assert.equal(log.pending(), 3);
    assert.equal(log.dropped(), 0, 'opting out is not dropping');
    await log.flush();
    assert.deepEqual((await stored()).map((e) => [e.apiId, e.query]).reverse(), [
      ['api_full', 'month=11&access_token=REDACTED'],
      ['api_plain', 'month'],
      [null, 'month'],
    ]);
  });

  test('flushRecords waiting start a flush without the interval; drops are a readiness warning until a round without them', async () => {
    const log = make({ bufferRecords: 3, flushRecords: 3 });
    for (let i = 0; i < 5; i++) log.observe(record());
    assert.equal(log.dropped(), 2);
    while (health.report().components[REQUEST_LOG]?.failures !== 1) await new Promise((r) => setTimeout(r, 5));
    assert.equal((await stored()).length, 3);
    const report = health.report();
    assert.equal(report.ready, true, 'a warning: the gateway serves on');
    assert.equal(report.components[REQUEST_LOG]!.critical, false);
    assert.match(report.components[REQUEST_LOG]!.lastError!, /2 request records dropped/);
    for (let i = 0; i < 3; i++) log.observe(record());
    while (health.report().components[REQUEST_LOG]?.ok !== true) await new Promise((r) => setTimeout(r, 5));
    assert.equal((await stored()).length, 6);
  });

  test('prune deletes the days before the retention window a part at a time, by the clock', async () => {
    const calls: number[] = [];
    const sink: RequestLogSink = {
      ...store.requestLog,
      deleteBefore: async (day, limit) => {
        const n = await store.requestLog.deleteBefore(day, limit);
        calls.push(n);
        return n;
      },
    };
    // In parts of 500, as the request log writes them (the store deletes whole parts).
    for (let part = 0; part < 50; part++) {
      const entries = [];
      for (let i = 0; i < 500; i++) entries.push(baseEntry(NOW - 10 * DAY + part * 500 + i));
      await store.requestLog.append(entryBatch(entries));
    }
    await store.requestLog.append(entryBatch([baseEntry(NOW - 7 * DAY), baseEntry(NOW)]));
    const log = make({ sink, retentionDays: 7 });
    assert.equal(await log.prune(), 25_000);
    assert.deepEqual(calls, [10_000, 10_000, 5000]);
    assert.deepEqual(
      (await stored()).map((e) => e.at),
      [NOW, NOW - 7 * DAY],
      'the seventh day back is kept whole',
    );
  });

  // A part the store refuses for what it holds would be refused at every flush, with every later
  // record waiting behind it: one crafted request (a NUL PostgreSQL cannot store) silenced the log.
  test('an entry the store refuses for what it holds is dropped, counted and reported; the rest of its part and later parts are written', async () => {
    const calls: number[] = [];
    const sink: RequestLogSink = {
      ...store.requestLog,
      append: async (batch) => {
        calls.push(batch.entries);
        if (entriesOf(batch).some((e) => e.path.includes('poison'))) throw new Error('invalid byte sequence for encoding "UTF8": 0x00');
        return store.requestLog.append(batch);
      },
    };
    const log = make({ sink, bufferRecords: 5000, flushRecords: 10_000, flushIntervalMs: 5 });
    log.start();
    try {
      for (let i = 0; i < 600; i++) log.observe(record({ path: i === 123 || i === 124 ? '/poison' : `/ok/${i}` }));
      while (health.report().components[REQUEST_LOG]?.failures !== 1) await new Promise((r) => setTimeout(r, 5));
      assert.match(health.report().components[REQUEST_LOG]!.lastError!, /2 request records refused by the store and dropped \(invalid byte sequence/);
      assert.equal(log.refused(), 2);
      assert.equal(log.written(), 598);
      assert.equal(log.pending(), 0);
      assert.ok(calls.length < 40, `found by halving, not one write per entry: ${calls.length} writes`);
      for (let i = 0; i < 3; i++) log.observe(record({ path: '/later' }));
      while (health.report().components[REQUEST_LOG]?.ok !== true) await new Promise((r) => setTimeout(r, 5));
      const paths = (await stored()).map((e) => e.path);
      assert.equal(paths.length, 601);
      assert.ok(!paths.includes('/poison'));
      assert.equal(paths.filter((p) => p === '/later').length, 3);
    } finally {
      await log.stop();
    }
  });

  test('the store going away while a refused part is written apart keeps what is unwritten for the next flush, writing nothing twice', async () => {
    let reachable = true;
    let refusals = 0;
    const sink: RequestLogSink = {
      ...store.requestLog,
      append: async (batch) => {
        if (!reachable) throw new StorageUnavailableError('the store cannot work now', { cause: null });
        if (entriesOf(batch).some((e) => e.path === '/poison')) {
          // The part is refused; while its first half is written, the store goes away.
          if (++refusals === 2) reachable = false;
          throw new Error('NOT NULL constraint failed: request_log.address');
        }
        return store.requestLog.append(batch);
      },
    };
    const log = make({ sink, bufferRecords: 5000, flushRecords: 10_000 });
    for (let i = 0; i < 10; i++) log.observe(record({ path: i === 0 ? '/poison' : `/ok/${i}` }));
    await assert.rejects(log.flush(), StorageUnavailableError);
    assert.equal(log.pending(), 10, 'nothing written, nothing lost');
    reachable = true;
    await log.flush();
    assert.equal(log.refused(), 1);
    assert.equal(log.pending(), 0);
    const paths = (await stored()).map((e) => e.path).sort();
    assert.deepEqual(paths, Array.from({ length: 9 }, (_, i) => `/ok/${i + 1}`).sort());
  });

  test('stop flushes what is held', async () => {
    const log = make({ flushIntervalMs: 3_600_000 });
    log.start();
    for (let i = 0; i < 7; i++) log.observe(record());
    await log.stop();
    assert.equal((await stored()).length, 7);
  });

  // A gateway worker hands its records to the main thread at stop, then exits: whatever that last flush
  // could not write is gone, and must be counted and said, not only kept in a buffer nobody reads.
  test('a last flush at stop that fails drops what it held, counts it as lost by the last flush (not a full buffer) and says how many records', async () => {
    const log = make({
      sink: {
        ...store.requestLog,
        append: async () => {
          throw new StorageUnavailableError('the main thread could not hand the records to the writer', { cause: null });
        },
      },
      flushIntervalMs: 3_600_000,
    });
    log.start();
    for (let i = 0; i < 3; i++) log.observe(record());
    await assert.rejects(log.stop(), /^Error: 3 request records not written: their last flush failed \(the main thread could not hand/);
    assert.equal(log.lastFlushLost(), 3);
    assert.equal(log.dropped(), 0, 'the buffer was never full: the store did keep up');
    assert.equal(log.pending(), 0, 'nothing left that a later flush could write after being counted as lost');
    const metrics = new GatehouseMetrics({ perKeyLabels: false });
    metrics.countLosses({ requestLog: log, analytics: null, usage: null });
    const text = await metrics.registry.metrics();
    assert.match(text, /^gatehouse_records_lost_total\{log="request_log",reason="last_flush_failed"\} 3$/m);
    assert.match(text, /^gatehouse_records_lost_total\{log="request_log",reason="buffer_full"\} 0$/m);
  });
});

function baseEntry(at: number): RequestLogEntry {
  return makeRequestLogEntry({ at, requestId: `e-${at}`, apiId: null, api: null, route: null, path: '/', status: 404, denialCode: 'ROUTE_NOT_FOUND' });
}
