/**
 * What rotation hygiene costs at scale (docs/rotation.md): the periodic scan's parts, a whole cycle
 * over every key, the `rotationDue` list filter, and the drain check's read.
 *
 *   node bench/rotation-scan.ts [--keys 1000000] [--part 1000]
 *
 * Keys are written straight into a real SQLite file (one transaction); 10 % belong to a policy with a
 * 90-day rule, 1 % carry a rule of their own, the rest have none; creation times are spread over a
 * year, so about a third of the ruled keys are due. Each scan part is one store call on the event
 * loop: its time is how long it blocks it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rotationStep } from '../src/domain/rotation.ts';
import { keyRecord, makeApp, makePolicy } from '../src/store/contract/fixtures.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';

const { values: args } = parseArgs({ options: { keys: { type: 'string', default: '1000000' }, part: { type: 'string', default: '1000' } } });
const KEYS = Number(args.keys);
const PART = Number(args.part);
const NOW = Date.UTC(2026, 10, 29, 12);
const DAY = 86_400_000;

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rotation-bench-'));
const file = join(dir, 'gatehouse.db');
const store = openSqliteStore(file, { clock: () => NOW });
await store.migrate();
const app = makeApp(1);
const audit = (targetId: string) => ({ actor: 'bench', action: 'created', targetType: 'app' as const, targetId, before: null, after: null, requestId: null });
await store.apps.create(app, audit(app.id));
const policy = makePolicy(1, { rotation: { periodDays: 90, expireAfterGraceDays: 30 } });
await store.policies.create(policy, audit(policy.id));

const t0 = performance.now();
const raw = new DatabaseSync(file);
const insert = raw.prepare(
  `INSERT INTO keys (id, app_id, policy_id, hash, environment, enabled, expires_at, revoked_at, data, created_at, updated_at, lineage_id, rotation_days)
   VALUES (?, ?, ?, ?, 'live', 1, NULL, NULL, ?, ?, ?, ?, ?)`,
);
raw.exec('BEGIN');
for (let i = 0; i < KEYS; i++) {
  const createdAt = NOW - ((i * 7919) % 365) * DAY;
  const id = `key_${String(i).padStart(28, '0')}`;
  const policyId = i % 10 === 0 ? policy.id : null;
  const key = keyRecord(app.id, {
    id,
    hash: `hash-${i}`,
    policyId,
    createdAt,
    updatedAt: createdAt,
    ...(i % 100 === 1 ? { rotation: { periodDays: 30 } } : {}),
  });
  insert.run(id, app.id, policyId, key.hash, JSON.stringify(key), createdAt, createdAt, id, key.rotation?.periodDays ?? null);
}
raw.exec('COMMIT');
raw.close();
console.log(`${KEYS.toLocaleString('en')} keys written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// A whole cycle of the scan, part by part, with the domain's decision for each key with a rule.
const parts: number[] = [];
let candidates = 0;
let announce = 0;
let cursor = '';
const cycle = performance.now();
for (;;) {
  const start = performance.now();
  const { items, nextCursor } = await store.keyRotation.scan(cursor, PART);
  for (const c of items) if (rotationStep(c.key, c.rule, c.notice, NOW).step === 'announce') announce++;
  parts.push(performance.now() - start);
  candidates += items.length;
  if (nextCursor === null) break;
  cursor = nextCursor;
}
const cycleMs = performance.now() - cycle;
parts.sort((a, b) => a - b);
const pct = (p: number) => parts[Math.min(parts.length - 1, Math.floor((p / 100) * parts.length))]!.toFixed(2);
console.log(
  `scan: ${parts.length} parts of ${PART} keys, ${candidates.toLocaleString('en')} with a rule, ${announce.toLocaleString('en')} to announce; ` +
    `part p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${parts.at(-1)!.toFixed(2)} ms; whole cycle ${(cycleMs / 1000).toFixed(2)} s of store time`,
);

const timed = async (label: string, fn: () => Promise<unknown>) => {
  const start = performance.now();
  const result = await fn();
  console.log(`${label}: ${(performance.now() - start).toFixed(1)} ms`, typeof result === 'number' ? `(${result})` : '');
};
await timed('list rotationDue=true, first page of 20', async () => (await store.keys.list({ rotationDue: true, limit: 20, now: NOW })).items.length);
await timed(
  'list rotationDue=true, first page of 20, none due (whole table)',
  async () => (await store.keys.list({ rotationDue: true, limit: 20, now: NOW - 400 * DAY })).items.length,
);
await timed(
  'list rotationDue=true&appId, first page of 100',
  async () => (await store.keys.list({ rotationDue: true, appId: app.id, limit: 100, now: NOW })).items.length,
);
await timed(
  'for comparison: list exposed=true (none exposed: whole table)',
  async () => (await store.keys.list({ exposed: true, limit: 20, now: NOW })).items.length,
);
await timed('draining keys (none among them)', async () => (await store.keyRotation.draining(NOW, { limit: 200 })).items.length);

await store.close();
rmSync(dir, { recursive: true, force: true });
