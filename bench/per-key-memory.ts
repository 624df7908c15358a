/**
 * What each hot key costs in memory on the gateway (issue 14, memory target): heap bytes per key held
 * by the key cache (KeyVerifier), and then by the limiter's and the usage recorder's per-key state,
 * measured in process on a real SQLite store with --keys keys (bench/lib/seeded-store.ts), after a GC.
 * Repeatable, unlike RSS under load: nothing else runs.
 *
 *   node --expose-gc bench/per-key-memory.ts [--keys 100000] [--snapshots /tmp/dir]
 *
 * `--snapshots DIR` also writes heap snapshots at the three points (before, cached, used), for
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
import { UsageRecorder } from '../src/usage/usage-recorder.ts';
import { KeyVerifier } from '../src/verification/key-verifier.ts';
import { seedStore, storeEnv } from './lib/seeded-store.ts';

const { values: args } = parseArgs({ options: { keys: { type: 'string', default: '100000' }, snapshots: { type: 'string' } } });
const KEYS = Number(args.keys);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const heap = (name: string): number => {
  for (let i = 0; i < 3; i++) gc();
  const used = process.memoryUsage().heapUsed;
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
  const before = heap('before');
  // A check, not a use: fills the cache only.
  for (const secret of seeded.secrets) {
    const v = await verifier.verify(secret, facts, false);
    if (!v.valid) throw new Error(`key refused: ${v.code}`);
  }
  const cached = heap('cached');
  // One use of each: the limiter's counters (rate and quota) and the usage recorder's counts and addresses.
  for (const secret of seeded.secrets) await verifier.verify(secret, facts, true);
  const used = heap('used');
  const perKey = (bytes: number) => (bytes / seeded.secrets.length).toFixed(0);
  console.log(
    `${seeded.secrets.length} keys: key cache ${perKey(cached - before)} B/key, limiter + usage ${perKey(used - cached)} B/key, ` +
      `together ${(((used - before) / 2 ** 20) * (100_000 / seeded.secrets.length)).toFixed(1)} MB per 100k hot keys`,
  );
  // Still in use here, so none of the above was garbage when measured.
  if (
    !(await verifier.verify(seeded.secrets[0]!, facts, false)).valid ||
    limiter.peek([], 0).allowed !== true ||
    usage.pending(seeded.keyId).lastUsedAt === null
  )
    throw new Error('lost');
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
