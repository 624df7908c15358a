/**
 * What one request-log entry costs the writer thread: its batch decoded into entries, and those
 * inserted into the SQLite store (the writer's work per request, apart from the postMessage).
 *
 *   node bench/request-log-writer.ts [--entries 200000] [--batch 250] [--rounds 5]
 *
 * Entries shaped like the benchmark's apiKey requests; CPU µs per entry from process.cpuUsage().
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeBatch, encodeBatch, type EntryBatch } from '../src/requests/entry-batch.ts';
import { unpack, type PackedEntry } from '../src/requests/request-entry.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';

const { values: args } = parseArgs({
  options: { entries: { type: 'string', default: '200000' }, batch: { type: 'string', default: '250' }, rounds: { type: 'string', default: '5' } },
});
const ENTRIES = Number(args.entries);
const BATCH = Number(args.batch);
const ROUNDS = Number(args.rounds);

const start = Date.now();
const entry = (i: number): PackedEntry => [
  start + i,
  `req_${i.toString(36).padStart(22, '0')}`,
  null,
  'api_01JXYZ0000000000000000000',
  'orders',
  '/orders',
  'GET',
  `/orders/items/${i % 1000}`,
  null,
  200,
  null,
  1.234,
  0.9,
  0,
  2,
  `key_01JABC${i % 10000}`,
  'app_01JDEF0000000000000000000',
  null,
  null,
  '127.0.0.1',
  'wrk/4.2',
];
const batches: EntryBatch[] = [];
for (let i = 0; i < ENTRIES; i += BATCH) batches.push(encodeBatch(Array.from({ length: Math.min(BATCH, ENTRIES - i) }, (_, j) => entry(i + j)))!);

const perEntry = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / ENTRIES;
};

function decodeOnly(): number {
  const since = process.cpuUsage();
  for (const batch of batches) decodeBatch(batch).map(unpack);
  return perEntry(since);
}

async function decodeAndInsert(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-request-log-bench-'));
  try {
    const store = openSqliteStore(join(dir, 'gatehouse.db'));
    await store.migrate();
    const since = process.cpuUsage();
    for (const batch of batches) await store.requestLog.append(decodeBatch(batch).map(unpack));
    const cost = perEntry(since);
    await store.close();
    return cost;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`| round | decode + unpack (µs/entry) | decode + unpack + insert (µs/entry) |\n| ---: | ---: | ---: |`);
for (let round = 1; round <= ROUNDS; round++) console.log(`| ${round} | ${decodeOnly().toFixed(2)} | ${(await decodeAndInsert()).toFixed(2)} |`);
