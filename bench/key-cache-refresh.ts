/**
 * How key-cache refreshes spread over time (issue 14): keys read together (a start, a policy change)
 * with every lifetime the same are read again together, on the event loop; with lifetimes jittered
 * downwards and refreshes ahead of expiry they are read again apart.
 *
 *   node bench/key-cache-refresh.ts [--keys 5000] [--ttl 60]
 *
 * Every key is verified once at t = 0, then once per simulated second (steady traffic) up to 1.2 TTL.
 * Per second: the store reads of keys (cache misses and background refreshes) and the wall time the
 * second's verifications took, the refreshes included. The clock is simulated; the store is a real
 * SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createLocalChangeBus } from '../src/events/change-bus.ts';
import { createPepper, hashKey } from '../src/domain/key-hash.ts';
import { generateKey } from '../src/domain/key-format.ts';
import { newId } from '../src/domain/ids.ts';
import { MemoryLimiter } from '../src/limits/memory-limiter.ts';
import type { Store } from '../src/store/port.ts';
import { keyRecord } from '../src/store/contract/fixtures.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { Health } from '../src/telemetry/health.ts';
import { UsageRecorder } from '../src/usage/usage-recorder.ts';
import { KeyVerifier } from '../src/verification/key-verifier.ts';

const { values: args } = parseArgs({ options: { keys: { type: 'string', default: '5000' }, ttl: { type: 'string', default: '60' } } });
const KEYS = Number(args.keys);
const TTL_S = Number(args.ttl);
const PEPPER = createPepper(Buffer.from('bench-pepper-0123456789abcdefghijkl'));
const FACTS = { apiId: 'api_bench', method: 'GET', path: '/x', ip: '127.0.0.1' };
const T0 = Date.UTC(2026, 10, 29, 12);

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-refresh-bench-'));
const real = openSqliteStore(join(dir, 'gatehouse.db'));
await real.migrate();
const audit = (targetId: string) => ({ actor: 'bench', action: 'created', targetType: 'key' as const, targetId, before: null, after: null, requestId: null });
const app = { id: newId('app'), name: 'bench', owner: null, metadata: {}, createdAt: T0, updatedAt: T0 };
await real.apps.create(app, { ...audit(app.id), targetType: 'app' });
const secrets: string[] = [];
for (let i = 0; i < KEYS; i++) {
  const { secret } = generateKey('api', 'live');
  await real.keys.create(keyRecord(app.id, { id: newId('key'), hash: hashKey(secret, PEPPER), access: [{ apiId: 'api_bench' }] }, T0), audit(`k${i}`));
  secrets.push(secret);
}

async function run(label: string, spread: boolean): Promise<void> {
  // Keys read: one per lookup by hash (a miss), one per key of a refresh batch (KeyRepo.getByIds).
  let reads = 0;
  let batches = 0;
  const keys = Object.create(real.keys) as Store['keys'];
  keys.findByHash = (hash: string) => (reads++, real.keys.findByHash(hash));
  keys.getByIds = (ids: readonly string[]) => ((reads += ids.length), batches++, real.keys.getByIds(ids));
  const store = Object.assign(Object.create(real) as Store, { keys });
  let now = T0;
  const verifier = new KeyVerifier({
    store,
    limiter: new MemoryLimiter(),
    usage: new UsageRecorder(store.usage),
    changes: createLocalChangeBus(),
    peppers: [PEPPER],
    cacheSize: KEYS * 2,
    cacheTtlMs: TTL_S * 1000,
    negativeTtlMs: 10_000,
    clock: () => now,
    ...(spread ? { health: new Health(pino({ level: 'silent' }), () => now) } : { random: () => 0, health: null }),
  });
  const perSecond: { reads: number; ms: number }[] = [];
  for (let s = 0; s <= Math.ceil(TTL_S * 1.2); s++) {
    now = T0 + s * 1000;
    const before = reads;
    const started = performance.now();
    await Promise.all(secrets.map((secret) => Promise.resolve(verifier.verify(secret, FACTS))));
    // Background refreshes started this second finish before the next one (a batch per turn).
    for (let quiet = 0, seen = reads; quiet < 3; seen = reads) {
      await new Promise((r) => setImmediate(r));
      quiet = reads === seen ? quiet + 1 : 0;
    }
    perSecond.push({ reads: reads - before, ms: performance.now() - started });
  }
  const after = perSecond.slice(1);
  const busiest = after.reduce((a, b) => (b.reads > a.reads ? b : a));
  const withReads = after.filter((p) => p.reads > 0).length;
  const slowest = Math.max(...after.map((p) => p.ms));
  const total = after.reduce((n, p) => n + p.ms, 0);
  // What the reads added: the seconds with reads, less what a second without any took (median).
  const quietMs = after
    .filter((p) => p.reads === 0)
    .map((p) => p.ms)
    .sort((x, y) => x - y);
  const quiet = quietMs[Math.floor(quietMs.length / 2)] ?? 0;
  const withReadsMs = after.filter((p) => p.reads > 0).reduce((n, p) => n + p.ms - quiet, 0);
  const perRead =
    (withReadsMs * 1000) /
    Math.max(
      1,
      after.reduce((n, p) => n + p.reads, 0),
    );
  console.log(
    `${label.padEnd(28)} reads after t=0: ${String(after.reduce((n, p) => n + p.reads, 0)).padStart(6)} (${batches} batches)  busiest second: ${String(busiest.reads).padStart(5)} reads  seconds with reads: ${String(withReads).padStart(3)}  slowest second: ${slowest.toFixed(1)} ms  all seconds: ${total.toFixed(0)} ms  per key read: ${perRead.toFixed(1)} µs`,
  );
}

await run('same lifetime, no refresh', false);
await run('jitter + refresh ahead', true);
await real.close();
rmSync(dir, { recursive: true, force: true });
