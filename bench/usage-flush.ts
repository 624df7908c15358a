/**
 * How long one usage flush holds the event loop, with many active keys: the batch written on the
 * event loop (the store's own connection, as before writer/) against the writer thread.
 *
 *   node --expose-gc bench/usage-flush.ts [--keys 10000] [--rounds 5] [--history-days 30]
 *
 * Each round counts one request for every key (its day, last use, quota and client address, as the
 * gateway does), then flushes, while a 1 ms timer on the event loop records the longest gap between
 * its ticks: the time a request arriving then would have waited. Keys carry a typical key's JSON, as
 * a flush that rewrote the key's row paid for its width. Each key has `--history-days` earlier days of
 * daily counts, as on a node that has run that long: a flush's lookups then miss SQLite's page cache.
 */
import { periodWindow } from '../src/domain/quota-period.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import type { UsageRepo } from '../src/store/port.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { UsageRecorder } from '../src/usage/usage-recorder.ts';
import { StoreThread } from '../src/writer/store-thread.ts';

const { values: args } = parseArgs({
  options: { keys: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '5' }, 'history-days': { type: 'string', default: '30' } },
});
const KEYS = Number(args.keys);
const ROUNDS = Number(args.rounds);
const HISTORY_DAYS = Number(args['history-days']);

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-flush-bench-'));
const path = join(dir, 'gatehouse.db');
const store = openSqliteStore(path);
await store.migrate();
// Keys straight into the table: the benchmark is about the flush, not key creation.
const db = new DatabaseSync(path);
db.exec('BEGIN');
const insert = db.prepare("INSERT INTO apps (id, name, data, created_at, updated_at) VALUES ('app_bench', 'bench', '{}', 0, 0)");
insert.run();
const key = db.prepare(
  'INSERT INTO keys (id, app_id, policy_id, hash, environment, enabled, expires_at, revoked_at, lineage_id, data, created_at, updated_at) VALUES (?, ?, NULL, ?, ?, 1, NULL, NULL, ?, ?, 0, 0)',
);
const ids: string[] = [];
const TYPICAL_KEY = JSON.stringify({
  name: 'payments service, production',
  access: [{ apiId: 'api_0123456789abcdef0123456789ab' }],
  scopes: ['orders:read', 'orders:write'],
  metadata: { team: 'payments', owner: 'someone@example.com' },
  rateLimits: [{ name: 'default', limit: 100, windowMs: 60_000 }],
  quota: { limit: 100_000, period: 'month' },
});
for (let i = 0; i < KEYS; i++) {
  const id = `key_${i.toString(16).padStart(28, '0')}`;
  ids.push(id);
  key.run(id, 'app_bench', `hash-${i}`, 'live', id, TYPICAL_KEY);
}
// Earlier days' counts, a day at a time, as flushes wrote them.
const daily = db.prepare('INSERT INTO usage_daily (key_id, day, requests) VALUES (?, ?, 5)');
for (let d = HISTORY_DAYS; d >= 1; d--) {
  const day = new Date(Date.UTC(2026, 11, 2) - d * 86_400_000).toISOString().slice(0, 10);
  for (const id of ids) daily.run(id, day);
}
db.exec('COMMIT');
db.close();

async function longestStall(repo: Pick<UsageRepo, 'record'>): Promise<{ stallMs: number; flushMs: number }[]> {
  const recorder = new UsageRecorder(repo);
  const results = [];
  for (let round = 0; round < ROUNDS; round++) {
    const now = Date.UTC(2026, 11, 2, 12) + round;
    for (const [i, id] of ids.entries()) recorder.hit({ id }, now, { window: periodWindow('day', now), limit: 1_000_000 }, `198.51.100.${i % 200}`);
    let last = performance.now();
    let stall = 0;
    const ticker = setInterval(() => {
      const t = performance.now();
      stall = Math.max(stall, t - last);
      last = t;
    }, 1);
    await new Promise((r) => setTimeout(r, 20));
    // Collect the garbage the counting above made, so the stall measured is the flush's own.
    (globalThis as { gc?: () => void }).gc?.();
    last = performance.now();
    stall = 0;
    const start = performance.now();
    await recorder.flush();
    const flushMs = performance.now() - start;
    await new Promise((r) => setTimeout(r, 5));
    clearInterval(ticker);
    results.push({ stallMs: stall, flushMs });
  }
  return results;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const onLoop = await longestStall(store.usage);
const writer = new StoreThread({ path, busyTimeoutMs: 5000, onError: (error) => console.error(error), onWarning: (message) => console.error(message) });
const threaded = await longestStall(writer);
await writer.close();
await store.close();
rmSync(dir, { recursive: true, force: true });

console.log(`usage flush of ${KEYS} active keys with ${HISTORY_DAYS} earlier days each, ${ROUNDS} rounds (median; longest event-loop stall during the flush)`);
console.log(`| writer | flush ms | µs per key | longest stall ms |\n|---|---|---|---|`);
for (const [label, rounds] of [
  ['on the event loop', onLoop],
  ['writer thread', threaded],
] as const) {
  const flushMs = median(rounds.map((r) => r.flushMs));
  console.log(`| ${label} | ${flushMs.toFixed(1)} | ${((flushMs * 1000) / KEYS).toFixed(1)} | ${median(rounds.map((r) => r.stallMs)).toFixed(1)} |`);
}
