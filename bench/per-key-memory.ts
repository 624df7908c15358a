/**
 * What each hot key costs in memory on the gateway (issue 14, memory target): bytes per key (heap and
 * array buffers) held by the key cache (KeyVerifier), then by the limiter's and the usage recorder's per-key state, then by
 * usage analytics' cells (one request of each key observed), and, as with gateway workers, the main
 * thread's usage recorder again (a worker's batch of every key merged), measured in process on a real SQLite store
 * with --keys keys (bench/lib/seeded-store.ts), after a GC.
 * Repeatable, unlike RSS under load: nothing else runs.
 *
 *   node --expose-gc bench/per-key-memory.ts [--keys 100000] [--snapshots /tmp/dir]
 *
 * `--snapshots DIR` also writes heap snapshots at the six points (before, cached, used, observed, before-merge, merged), for
 * bench/heap-diff.ts to say which kinds of object each step added per key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { loadConfig } from '../src/config/load.ts';
import { createLocalChangeBus } from '../src/events/change-bus.ts';
import { MemoryLimiter } from '../src/limits/memory-limiter.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { UsageAnalytics } from '../src/usage/analytics.ts';
import { UsageRecorder } from '../src/usage/usage-recorder.ts';
import { Health } from '../src/telemetry/health.ts';
import pino from 'pino';
import type { RequestRecord } from '../src/gateway/observer.ts';
import { KeyVerifier } from '../src/verification/key-verifier.ts';
import { seedStore, storeEnv } from './lib/seeded-store.ts';

const { values: args } = parseArgs({ options: { keys: { type: 'string', default: '100000' }, snapshots: { type: 'string' } } });
const KEYS = Number(args.keys);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const heap = (name: string): number => {
  for (let i = 0; i < 3; i++) gc();
  // Typed arrays' contents (usage analytics' cell columns) are outside the heap: counted with it.
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  const used = heapUsed + arrayBuffers;
  if (args.snapshots) writeHeapSnapshot(join(args.snapshots, `${name}.heapsnapshot`));
  return used;
};

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-per-key-'));
try {
  const seeded = await seedStore(dir, KEYS, KEYS - 1);
  const config = loadConfig({ env: storeEnv(dir, seeded) });
  const store = openSqliteStore(seeded.storePath);
  const limiter = new MemoryLimiter();
  const usage = new UsageRecorder({ record: async () => [] });
  const verifier = new KeyVerifier({
    store,
    limiter,
    usage,
    changes: createLocalChangeBus(),
    peppers: config.peppers,
    cacheSize: KEYS + 1,
    cacheTtlMs: 3_600_000,
    negativeTtlMs: 60_000,
  });
  const facts = { apiId: seeded.apiId, method: 'GET', path: '/x', ip: '127.0.0.1', requiredScopes: [], publishableRoute: false, origin: null };
  // Filled by the uses below, allocated now so that its size counts in none of the steps.
  const keys = Array.from(seeded.secrets, () => ({ keyId: '', appId: '' }));
  const before = heap('before');
  // A check, not a use: fills the cache only.
  for (const secret of seeded.secrets) {
    const v = await verifier.verify(secret, facts, false);
    if (!v.valid) throw new Error(`key refused: ${v.code}`);
  }
  const cached = heap('cached');
  // One use of each: the limiter's counters (rate and quota) and the usage recorder's counts and addresses.
  for (const [i, secret] of seeded.secrets.entries()) {
    const v = await verifier.verify(secret, facts, true);
    if (!v.valid) throw new Error(`key refused: ${v.code}`);
    keys[i]!.keyId = v.keyId;
    keys[i]!.appId = v.appId;
  }
  const used = heap('used');
  // Analytics as the gateway keeps it: one cell per combination of dimensions, kept across flushes.
  const analytics = new UsageAnalytics({
    sink: { add: async () => {}, deleteBefore: async () => 0 },
    health: new Health(pino({ level: 'silent' }), Date.now),
    clock: Date.now,
    flushIntervalMs: 1_000,
    retention: config.analytics,
    maxCells: 4 * KEYS,
  });
  const record: RequestRecord = {
    startedAt: Date.now(),
    durationMs: 1.5,
    api: 'bench',
    apiId: seeded.apiId,
    route: '/bench',
    method: 'GET',
    path: '/bench/x',
    query: '',
    status: 200,
    outcome: 'FORWARDED',
    denialCode: null,
    upstreamMs: 1,
    bytesIn: 0,
    bytesOut: 2,
    keyId: null,
    appId: null,
    user: null,
    clientId: null,
    ip: '127.0.0.1',
    userAgent: null,
    requestId: null,
    traceId: null,
    aborted: false,
  };
  for (const { keyId, appId } of keys) analytics.observe({ ...record, keyId, appId });
  const observed = heap('observed');
  // With gateway workers, the main thread's recorder holds every key's counts again, merged from the
  // workers' batches, which reach it as structured clones (workers/gateway-workers.ts).
  const merged = new UsageRecorder({ record: async () => [] });
  const worker = new UsageRecorder({
    record: async (batch) => {
      merged.merge(structuredClone(batch));
      return [];
    },
  });
  for (const { keyId } of keys) worker.hit({ id: keyId, lineageId: undefined }, Date.now(), null, '127.0.0.1');
  const beforeMerge = heap('before-merge');
  await worker.flush();
  const afterMerge = heap('merged');
  const perKey = (bytes: number) => (bytes / seeded.secrets.length).toFixed(0);
  console.log(
    `${seeded.secrets.length} keys: key cache ${perKey(cached - before)} B/key, limiter + usage ${perKey(used - cached)} B/key, ` +
      `analytics ${perKey(observed - used)} B/key, together ${(((observed - before) / 2 ** 20) * (100_000 / seeded.secrets.length)).toFixed(1)} MB per 100k hot keys; ` +
      `with workers, the main thread's merged usage ${perKey(afterMerge - beforeMerge)} B/key`,
  );
  // Still in use here, so none of the above was garbage when measured.
  if (
    !(await verifier.verify(seeded.secrets[0]!, facts, false)).valid ||
    limiter.peek('key:none', [], 0).allowed !== true ||
    usage.pending(seeded.keyId).lastUsedAt === null ||
    analytics.pending() !== keys.length ||
    merged.pending(keys[0]!.keyId).lastUsedAt === null
  )
    throw new Error('lost');
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
