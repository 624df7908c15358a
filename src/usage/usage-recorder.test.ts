import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { ApiKey, App, AuditInput } from '../domain/entities.ts';
import { newId } from '../domain/ids.ts';
import { OTHER_ADDRESSES, StorageUnavailableError, type Store, type UsageBatch, type UsageRepo } from '../store/port.ts';
import { keyRecord } from '../store/contract/fixtures.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { QuotaUse } from './port.ts';
import pino from 'pino';
import { Health } from '../telemetry/health.ts';
import { USAGE_FLUSH, UsageRecorder } from './usage-recorder.ts';

const NOW = Date.UTC(2026, 10, 29, 12);
const DAY = 86_400_000;
/** A quota use as the verifier passes it (the key's quota check): the period, its end, the limit. */
const quota = (period: string, limit = 1000): QuotaUse => ({ window: { id: period, start: NOW, end: NOW + 40 * DAY }, limit });
const audit = (targetId: string): AuditInput => ({ actor: 'test', action: 'created', targetType: 'key', targetId, before: null, after: null, requestId: null });

async function createKey(store: Store, appId: string): Promise<ApiKey> {
  const id = newId('key');
  const key = keyRecord(appId, { id, name: id }, NOW);
  await store.keys.create(key, audit(id));
  return key;
}

describe('UsageRecorder', () => {
  let dir: string;
  let store: Store;
  let keyA: ApiKey;
  let keyB: ApiKey;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-usage-'));
    store = openSqliteStore(join(dir, 'gatehouse.db'));
    await store.migrate();
    const app: App = { id: newId('app'), name: 'app', owner: null, metadata: {}, createdAt: NOW, updatedAt: NOW };
    await store.apps.create(app, { ...audit(app.id), targetType: 'app' });
    keyA = await createKey(store, app.id);
    keyB = await createKey(store, app.id);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('hits are counted in memory and reach the store only on flush', async () => {
    const recorder = new UsageRecorder(store.usage);
    recorder.hit(keyA, NOW, quota('2026-11'));
    recorder.hit(keyA, NOW + 5, quota('2026-11'));
    assert.deepEqual(await store.usage.requestsByDay(keyA.id), []);
    assert.deepEqual(recorder.pending(keyA.id), { lastUsedAt: NOW + 5, lastUsedFrom: null, quota: new Map([['2026-11', 2]]) });
    await recorder.flush();
    assert.deepEqual(await store.usage.requestsByDay(keyA.id), [{ day: '2026-11-29', requests: 2 }]);
    assert.equal(await store.usage.quotaUsed(keyA.id, '2026-11'), 2);
    assert.equal((await store.keys.get(keyA.id))?.lastUsedAt, NOW + 5);
    assert.deepEqual(recorder.pending(keyA.id), { lastUsedAt: null, lastUsedFrom: null, quota: new Map() });
  });

  test('each flush writes only the counts since the previous one', async () => {
    const recorder = new UsageRecorder(store.usage);
    for (let i = 0; i < 3; i++) recorder.hit(keyA, NOW, quota('2026-11-29'));
    await recorder.flush();
    recorder.hit(keyA, NOW + 1, quota('2026-11-29'));
    recorder.hit(keyA, NOW + DAY, quota('2026-11-30'));
    await recorder.flush();
    await recorder.flush();
    assert.deepEqual(await store.usage.requestsByDay(keyA.id), [
      { day: '2026-11-29', requests: 4 },
      { day: '2026-11-30', requests: 1 },
    ]);
    assert.equal(await store.usage.quotaUsed(keyA.id, '2026-11-29'), 4);
    assert.equal(await store.usage.quotaUsed(keyA.id, '2026-11-30'), 1);
  });

  test('a use a flush is still writing is pending until the store has it: a drain check or a key view never reads it as none', async () => {
    let release!: () => void;
    const stored = new Promise<void>((resolve) => (release = resolve));
    // The real store, answering once the test lets it: a write still in flight.
    const recorder = new UsageRecorder({ record: async (batch: UsageBatch) => (await stored, store.usage.record(batch)) });
    recorder.hit(keyA, NOW + 7, quota('2026-11'), '192.0.2.7');
    const flushing = recorder.flush();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(recorder.pending(keyA.id), { lastUsedAt: NOW + 7, lastUsedFrom: '192.0.2.7', quota: new Map([['2026-11', 1]]) });
    recorder.hit(keyA, NOW + 8, quota('2026-11'));
    assert.deepEqual(recorder.pending(keyA.id), { lastUsedAt: NOW + 8, lastUsedFrom: '192.0.2.7', quota: new Map([['2026-11', 2]]) });
    release();
    await flushing;
    assert.equal((await store.keys.get(keyA.id))?.lastUsedAt, NOW + 7);
    assert.deepEqual(recorder.pending(keyA.id), { lastUsedAt: NOW + 8, lastUsedFrom: null, quota: new Map([['2026-11', 1]]) });
  });

  test('a key used on both sides of midnight between two flushes: both days and both quota periods are pending, then flushed', async () => {
    const recorder = new UsageRecorder(store.usage);
    recorder.hit(keyA, NOW, quota('2026-11-29'), '192.0.2.1');
    recorder.hit(keyA, NOW + DAY, quota('2026-11-30'), '192.0.2.2');
    recorder.hit(keyA, NOW + DAY + 1, quota('2026-11-30'), '192.0.2.1');
    assert.deepEqual(recorder.pending(keyA.id), {
      lastUsedAt: NOW + DAY + 1,
      lastUsedFrom: '192.0.2.1',
      quota: new Map([
        ['2026-11-29', 1],
        ['2026-11-30', 2],
      ]),
    });
    await recorder.flush();
    assert.deepEqual(await store.usage.requestsByDay(keyA.id), [
      { day: '2026-11-29', requests: 1 },
      { day: '2026-11-30', requests: 2 },
    ]);
    assert.equal(await store.usage.quotaUsed(keyA.id, '2026-11-30'), 2);
    assert.deepEqual(recorder.pending(keyA.id), { lastUsedAt: null, lastUsedFrom: null, quota: new Map() });
  });

  test('a key that goes on past midnight, also while a flush is under way: no batch names a key and day twice, and every request is counted once', async () => {
    const batches: UsageBatch[] = [];
    let during: (() => void) | null = null;
    const recorder = new UsageRecorder({
      record: async (batch) => {
        batches.push(structuredClone(batch));
        during?.();
        during = null;
        return [];
      },
    });
    recorder.hit(keyA, NOW, quota('2026-11-29'));
    recorder.hit(keyA, NOW + DAY, quota('2026-11-30'));
    await recorder.flush();
    recorder.hit(keyA, NOW + DAY + 1, quota('2026-11-30'));
    recorder.hit(keyA, NOW + DAY + 2, quota('2026-11-30'));
    during = () => recorder.hit(keyA, NOW + DAY + 3, quota('2026-11-30'));
    await recorder.flush();
    recorder.hit(keyA, NOW + DAY + 4, quota('2026-11-30'));
    await recorder.flush();
    await recorder.flush();
    const total = new Map<string, number>();
    const quotaTotal = new Map<string, number>();
    for (const batch of batches) {
      const days = batch.keys.map((k) => `${k.keyId} ${k.day}`);
      assert.equal(new Set(days).size, days.length, `a key and day twice in one batch: ${days.join(', ')}`);
      const periods = batch.quotas.map((q) => `${q.lineageId} ${q.period}`);
      assert.equal(new Set(periods).size, periods.length, `a lineage and period twice in one batch: ${periods.join(', ')}`);
      for (const k of batch.keys) total.set(k.day, (total.get(k.day) ?? 0) + k.requests);
      for (const q of batch.quotas) quotaTotal.set(q.period, (quotaTotal.get(q.period) ?? 0) + q.delta);
    }
    assert.deepEqual(Object.fromEntries(total), { '2026-11-29': 1, '2026-11-30': 5 });
    assert.deepEqual(Object.fromEntries(quotaTotal), { '2026-11-29': 1, '2026-11-30': 5 });
    assert.deepEqual(recorder.pending(keyA.id), { lastUsedAt: null, lastUsedFrom: null, quota: new Map() });
  });

  test('counts are kept apart per key, and a key without a quota records no quota usage', async () => {
    const recorder = new UsageRecorder(store.usage);
    recorder.hit(keyA, NOW, null);
    recorder.hit(keyB, NOW, quota('2026-11'));
    recorder.hit(keyB, NOW, quota('2026-11'));
    assert.deepEqual(recorder.pending(keyA.id).quota, new Map());
    await recorder.stop();
    assert.deepEqual(await store.usage.requestsByDay(keyA.id), [{ day: '2026-11-29', requests: 1 }]);
    assert.deepEqual(await store.usage.requestsByDay(keyB.id), [{ day: '2026-11-29', requests: 2 }]);
    assert.equal(await store.usage.quotaUsed(keyA.id, '2026-11'), 0);
    assert.equal(await store.usage.quotaUsed(keyB.id, '2026-11'), 2);
  });

  test('a failed flush keeps its counts for the next flush', async () => {
    let failures = 1;
    const batches: UsageBatch[] = [];
    const flaky: UsageRepo = {
      ...store.usage,
      async record(batch) {
        batches.push(batch);
        if (failures-- > 0) throw new Error('disk full');
        return store.usage.record(batch);
      },
    };
    const recorder = new UsageRecorder(flaky);
    recorder.hit(keyA, NOW, quota('2026-11'));
    recorder.hit(keyA, NOW + 1, quota('2026-11'));
    await assert.rejects(recorder.flush(), /disk full/);
    assert.deepEqual(recorder.pending(keyA.id), { lastUsedAt: NOW + 1, lastUsedFrom: null, quota: new Map([['2026-11', 2]]) });
    recorder.hit(keyA, NOW + 2, quota('2026-11'));
    await recorder.flush();
    assert.equal(batches.length, 2);
    assert.deepEqual(await store.usage.requestsByDay(keyA.id), [{ day: '2026-11-29', requests: 3 }]);
    assert.equal(await store.usage.quotaUsed(keyA.id, '2026-11'), 3);
    assert.equal((await store.keys.get(keyA.id))?.lastUsedAt, NOW + 2);
  });

  test('a batch names the quota its lineage was held to at the latest use, also after a failed flush put it back', async () => {
    let failures = 1;
    const batches: UsageBatch[] = [];
    const recorder = new UsageRecorder({
      ...store.usage,
      async record(batch) {
        batches.push(structuredClone(batch));
        if (failures-- > 0) throw new Error('disk full');
        return store.usage.record(batch);
      },
    });
    const seen: UsageBatch['quotas'][] = [];
    recorder.onFlushed((batch) => seen.push(batch.quotas));
    recorder.hit(keyA, NOW, quota('2026-11', 100));
    await assert.rejects(recorder.flush(), /disk full/);
    await recorder.flush();
    recorder.hit(keyA, NOW + 1, quota('2026-11', 100));
    recorder.hit(keyA, NOW + 2, quota('2026-11', 50));
    await recorder.flush();
    const resetsAt = NOW + 40 * DAY;
    assert.deepEqual(seen, [
      [{ lineageId: keyA.id, period: '2026-11', delta: 1, limit: 100, resetsAt }],
      [{ lineageId: keyA.id, period: '2026-11', delta: 2, limit: 50, resetsAt }],
    ]);
    assert.equal(batches.length, 3);
  });

  test("a rotated key's requests count for itself and its quota use for its lineage", async () => {
    const batches: UsageBatch[] = [];
    const recorder = new UsageRecorder({ record: async (batch) => (batches.push(structuredClone(batch)), []) });
    recorder.hit({ id: 'key_new', lineageId: 'key_old' }, NOW, quota('2026-11', 100));
    recorder.hit({ id: 'key_old' }, NOW + 1, quota('2026-11', 100));
    await recorder.flush();
    assert.deepEqual(
      batches[0]!.keys.map((k) => [k.keyId, k.requests]),
      [
        ['key_new', 1],
        ['key_old', 1],
      ],
    );
    assert.deepEqual(batches[0]!.quotas, [{ lineageId: 'key_old', period: '2026-11', delta: 2, limit: 100, resetsAt: NOW + 40 * DAY }]);
  });

  test('flush after flush, each batch holds only what was counted since the last; nothing is counted twice or lost', async () => {
    const batches: UsageBatch[] = [];
    const recorder = new UsageRecorder({ record: async (batch) => (batches.push(structuredClone(batch)), []) });
    recorder.hit(keyA, NOW, quota('2026-11', 100), '192.0.2.1');
    recorder.hit(keyA, NOW + 1, quota('2026-11', 100), '192.0.2.1');
    await recorder.flush();
    recorder.hit(keyA, NOW + 2, quota('2026-11', 100), '192.0.2.1');
    assert.deepEqual(recorder.pending(keyA.id).quota, new Map([['2026-11', 1]]));
    await recorder.flush();
    await recorder.flush();
    recorder.hit(keyA, NOW + 3, null);
    await recorder.flush();
    assert.deepEqual(
      batches.map((b) => [b.keys.map((k) => [k.requests, k.lastUsedAt]), b.quotas.map((q) => [q.delta, q.limit]), (b.addresses ?? []).map((a) => a.requests)]),
      [
        [[[2, NOW + 1]], [[2, 100]], [2]],
        [[[1, NOW + 2]], [[1, 100]], [1]],
        [[[1, NOW + 3]], [], []],
      ],
    );
    assert.deepEqual(recorder.pending(keyA.id), { lastUsedAt: null, lastUsedFrom: null, quota: new Map() });
  });

  test('the store is asked for the quota totals the listeners need: none without one, those past the lowest percent asked, all for one that asks all', async () => {
    const asked: (number | undefined)[] = [];
    const recorder = new UsageRecorder({ record: async (batch) => (asked.push(batch.totalsFromPercent), []) });
    const flushOnce = async () => (recorder.hit(keyA, NOW, quota('2026-11', 100)), await recorder.flush());
    await flushOnce();
    recorder.onFlushed(() => undefined, 90);
    await flushOnce();
    recorder.onFlushed(() => undefined, 80);
    await flushOnce();
    recorder.onFlushed(() => undefined);
    await flushOnce();
    assert.deepEqual(asked, [Infinity, 90, 80, undefined]);
  });

  test('after a flush, a use without an address names none: a newer address another node wrote since stays', async () => {
    const nodeX = new UsageRecorder(store.usage);
    const nodeY = new UsageRecorder(store.usage);
    nodeX.hit(keyA, NOW, null, '192.0.2.1');
    await nodeX.flush();
    nodeY.hit(keyA, NOW + 1000, null, '198.51.100.7');
    await nodeY.flush();
    // A check through the verify API on node X: no client address.
    nodeX.hit(keyA, NOW + 2000, null, null);
    await nodeX.flush();
    const key = await store.keys.get(keyA.id);
    assert.deepEqual([key?.lastUsedAt, key?.lastUsedFrom], [NOW + 2000, '198.51.100.7']);
  });

  test("a key's second day between flushes, too: the batch after a flush names no address for a use without one", async () => {
    const batches: UsageBatch[] = [];
    const recorder = new UsageRecorder({ record: async (batch) => (batches.push(structuredClone(batch)), []) });
    recorder.hit(keyA, NOW, null, '192.0.2.1');
    recorder.hit(keyA, NOW + DAY, null, '192.0.2.1');
    await recorder.flush();
    recorder.hit(keyA, NOW + 5, null, null);
    recorder.hit(keyA, NOW + DAY + 5, null, null);
    await recorder.flush();
    assert.deepEqual(
      batches[1]!.keys.map((k) => [k.day, k.lastUsedAt, k.lastUsedFrom]),
      [
        ['2026-11-29', NOW + 5, null],
        ['2026-11-30', NOW + DAY + 5, null],
      ],
    );
  });

  test('a failed flush puts the latest use back with its address, and the next flush sends it', async () => {
    const batches: UsageBatch[] = [];
    let fail = true;
    const recorder = new UsageRecorder({
      record: async (batch) => {
        if (fail) throw new Error('the store refused');
        batches.push(structuredClone(batch));
        return [];
      },
    });
    recorder.hit(keyA, NOW, null, '192.0.2.1');
    await assert.rejects(recorder.flush());
    fail = false;
    await recorder.flush();
    assert.deepEqual(
      batches[0]!.keys.map((k) => [k.requests, k.lastUsedAt, k.lastUsedFrom]),
      [[1, NOW, '192.0.2.1']],
    );
  });

  test('uses are counted per key and client address and flushed with the usage batch; a use without an address names none', async () => {
    const recorder = new UsageRecorder(store.usage);
    recorder.hit(keyA, NOW, null, '192.0.2.1');
    recorder.hit(keyA, NOW + 5, null, '192.0.2.1');
    recorder.hit(keyA, NOW + 2, null, '192.0.2.2');
    recorder.hit(keyA, NOW + 9, null);
    recorder.hit(keyB, NOW + 3, null, '192.0.2.1');
    assert.deepEqual((await store.keyAddresses.list(keyA.id, { limit: 10 })).items, [], 'nothing is written before the flush');
    await recorder.flush();
    assert.deepEqual((await store.keyAddresses.list(keyA.id, { limit: 10 })).items, [
      { keyId: keyA.id, address: '192.0.2.1', firstSeen: NOW, lastSeen: NOW + 5, requests: 2 },
      { keyId: keyA.id, address: '192.0.2.2', firstSeen: NOW + 2, lastSeen: NOW + 2, requests: 1 },
    ]);
    assert.deepEqual((await store.keyAddresses.list(keyB.id, { limit: 10 })).items, [
      { keyId: keyB.id, address: '192.0.2.1', firstSeen: NOW + 3, lastSeen: NOW + 3, requests: 1 },
    ]);
    assert.deepEqual(await store.usage.requestsByDay(keyA.id), [{ day: '2026-11-29', requests: 4 }]);
  });

  test('a key called from more addresses than addressesPerKey counts the rest as other addresses: memory bounded, requests exact', async () => {
    const batches: UsageBatch[] = [];
    const recorder = new UsageRecorder({ record: async (batch) => (batches.push(batch), []) }, { addressesPerKey: 2 });
    for (let i = 0; i < 50; i++) recorder.hit(keyA, NOW + i, null, `192.0.2.${i % 10}`);
    await recorder.flush();
    const sent = batches.flatMap((b) => b.addresses ?? []);
    assert.deepEqual(
      sent.map((a) => [a.address, a.requests, a.firstSeen, a.lastSeen]),
      [
        ['192.0.2.0', 5, NOW, NOW + 40],
        ['192.0.2.1', 5, NOW + 1, NOW + 41],
        [OTHER_ADDRESSES, 40, NOW + 2, NOW + 49],
      ],
    );
    assert.equal(batches[0]!.addressesPerKey, 2, 'the store is told the cap too');
  });

  test('a failed flush keeps its addresses for the next one', async () => {
    let failures = 1;
    const flaky: UsageRepo = {
      ...store.usage,
      async record(batch) {
        if (failures-- > 0) throw new Error('disk full');
        return store.usage.record(batch);
      },
    };
    const recorder = new UsageRecorder(flaky);
    recorder.hit(keyA, NOW + 1, null, '192.0.2.1');
    await assert.rejects(recorder.flush(), /disk full/);
    recorder.hit(keyA, NOW, null, '192.0.2.1');
    recorder.hit(keyA, NOW + 2, null, '192.0.2.1');
    await recorder.flush();
    assert.deepEqual((await store.keyAddresses.list(keyA.id, { limit: 10 })).items, [
      { keyId: keyA.id, address: '192.0.2.1', firstSeen: NOW, lastSeen: NOW + 2, requests: 3 },
    ]);
  });

  // A gateway worker hands its counts to the main thread at stop, then exits: whatever that last flush
  // could not write is gone, and must be counted and said, not only put back where nobody reads it.
  test('a last flush at stop that fails drops what it held, counts it as dropped and says how many requests', async () => {
    const away: UsageRepo = {
      ...store.usage,
      record: async () => {
        throw new StorageUnavailableError('the main thread could not take the counts', { cause: null });
      },
    };
    const recorder = new UsageRecorder(away);
    recorder.hit(keyA, NOW, quota('2026-11'), '192.0.2.1');
    recorder.hit(keyA, NOW + DAY, quota('2026-12'));
    recorder.hit(keyB, NOW, null);
    recorder.count('app:app_1', '2026-11');
    await assert.rejects(
      recorder.stop(),
      /^Error: 3 requests and 1 per-app or per-user quota uses not counted in usage: their last flush failed \(the main thread could not take/,
    );
    assert.equal(recorder.dropped(), 3);
    assert.equal(recorder.droppedCounterUses(), 1);
    assert.deepEqual(recorder.pending(keyA.id), { lastUsedAt: null, lastUsedFrom: null, quota: new Map() }, 'nothing left that a later flush could write');
    await recorder.flush(); // nothing held: the store, which would refuse, is not asked
  });

  test('a flush with nothing counted does not call the store', async () => {
    let calls = 0;
    const counting: UsageRepo = { ...store.usage, record: async () => (calls++, []) };
    await new UsageRecorder(counting).flush();
    assert.equal(calls, 0);
  });
});

test('a background flush that fails is reported to readiness and keeps its counts', { timeout: 10_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-usage-'));
  const store = openSqliteStore(join(dir, 'gatehouse.db'));
  await store.migrate();
  const health = new Health(pino({ level: 'silent' }), Date.now);
  const recorder = new UsageRecorder(store.usage);
  recorder.hit({ id: 'key_x' }, NOW, null);
  await store.close();
  recorder.start(5, health);
  try {
    while (health.report().components[USAGE_FLUSH]?.ok !== false) await new Promise((r) => setTimeout(r, 5));
    assert.equal(health.report().ready, false);
    assert.notEqual(recorder.pending('key_x').lastUsedAt, null);
  } finally {
    await recorder.stop().catch((error: unknown) => assert.match(String(error), /finalized|not open/));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the latest use names its address; a failed flush puts it back without hiding a newer one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-usage-'));
  const store = openSqliteStore(join(dir, 'gatehouse.db'));
  await store.migrate();
  const recorder = new UsageRecorder(store.usage);
  recorder.hit({ id: 'key_x' }, NOW, null, '192.0.2.1');
  recorder.hit({ id: 'key_x' }, NOW + 1, null, '192.0.2.2');
  recorder.hit({ id: 'key_x' }, NOW + 1, null);
  assert.equal(recorder.pending('key_x').lastUsedFrom, '192.0.2.2', 'a use without an address keeps the last one known');
  await store.close();
  await assert.rejects(recorder.flush());
  recorder.hit({ id: 'key_x' }, NOW + 2, null, '192.0.2.3');
  assert.equal(recorder.pending('key_x').lastUsedFrom, '192.0.2.3');
  rmSync(dir, { recursive: true, force: true });
});
