/**
 * What one request-log entry costs the SQLite store: appended (the writer thread's work per request,
 * apart from the postMessage: since migration 18, the batch is checked and kept as it is), and read
 * back by a filtered query that scans every batch (the reader's work per entry in the chosen range).
 * Beside them, decoding a batch into entries, what every append cost before.
 *
 *   node bench/request-log-writer.ts [--entries 200000] [--batch 250] [--rounds 5]
 *
 * Entries shaped like the benchmark's apiKey requests; CPU µs per entry from process.cpuUsage().
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { entriesOf, encodeBatch, type EntryBatch, type PackedEntry } from '../src/store/entry-batch.ts';
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
  for (const batch of batches) entriesOf(batch);
  return perEntry(since);
}

async function appendAndScan(): Promise<[append: number, scan: number]> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-request-log-bench-'));
  try {
    const store = openSqliteStore(join(dir, 'gatehouse.db'));
    await store.migrate();
    let since = process.cpuUsage();
    for (const batch of batches) await store.requestLog.append(batch);
    const append = perEntry(since);
    since = process.cpuUsage();
    const page = await store.requestLog.query({ keyId: 'key_none' }, { limit: 100 });
    const scan = perEntry(since);
    if (page.items.length !== 0) throw new Error('the scan found an entry no key made');
    await store.close();
    return [append, scan];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`| round | append (µs/entry) | filtered scan (µs/entry) | decode into entries (µs/entry) |\n| ---: | ---: | ---: | ---: |`);
for (let round = 1; round <= ROUNDS; round++) {
  const [append, scan] = await appendAndScan();
  console.log(`| ${round} | ${append.toFixed(2)} | ${scan.toFixed(2)} | ${decodeOnly().toFixed(2)} |`);
}
