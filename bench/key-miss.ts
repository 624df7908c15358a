/**
 * What a key-cache miss costs (issue 14): a KeyVerifier on a real SQLite store of --stored keys verifies
 * --keys of them once each, every verification a miss (store reads, the key compiled, its entry made),
 * then once more each, every one a hit, then once more after their entries expired (a key used less
 * often than the cache's lifetime: read again, by id). CPU µs per verification of each, in process,
 * median of --rounds.
 *
 *   node bench/key-miss.ts [--stored 200000] [--keys 20000] [--rounds 3] [--profile misses.cpuprofile]
 *
 * `--profile FILE` writes a V8 CPU profile of the misses alone (bench/profile-top.ts reads it).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.ts';
import { createLocalChangeBus } from '../src/events/change-bus.ts';
import { MemoryLimiter } from '../src/limits/memory-limiter.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { UsageRecorder } from '../src/usage/usage-recorder.ts';
import { KeyVerifier } from '../src/verification/key-verifier.ts';
import { seedStore, storeEnv } from './lib/seeded-store.ts';

const { values: args } = parseArgs({
  options: {
    stored: { type: 'string', default: '200000' },
    keys: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    profile: { type: 'string' },
  },
});
const STORED = Number(args.stored);
const KEYS = Number(args.keys);
const ROUNDS = Number(args.rounds);

const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-key-miss-'));
try {
  const seeded = await seedStore(dir, STORED, KEYS * ROUNDS - 1);
  const config = loadConfig({ env: storeEnv(dir, seeded) });
  const store = openSqliteStore(seeded.storePath);
  const facts = { apiId: seeded.apiId, method: 'GET', path: '/x', ip: '127.0.0.1', requiredScopes: [], publishableRoute: false, origin: null };
  const profiler = args.profile ? new Session() : null;
  profiler?.connect();
  await profiler?.post('Profiler.enable');
  const misses: number[] = [];
  const hits: number[] = [];
  const expired: number[] = [];
  let clockOffset = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const verifier = new KeyVerifier({
      store,
      limiter: new MemoryLimiter(),
      usage: new UsageRecorder({ record: async () => [] }),
      changes: createLocalChangeBus(),
      peppers: config.peppers,
      cacheSize: KEYS + 1,
      cacheTtlMs: 3_600_000,
      clock: () => Date.now() + clockOffset,
      negativeTtlMs: 60_000,
    });
    // Keys no round has seen: SQLite's page cache is as cold for each round.
    const secrets = seeded.secrets.slice(round * KEYS, (round + 1) * KEYS);
    // The same keys three times: never seen, cached, then expired (the clock moved past their lifetime).
    for (const into of [misses, hits, expired]) {
      if (into === expired) clockOffset += 3_600_000;
      if (into === misses) await profiler?.post('Profiler.start');
      const start = cpuMicros();
      for (const secret of secrets) {
        const v = await verifier.verify(secret, facts, true);
        if (!v.valid) throw new Error(`key refused: ${v.code}`);
      }
      into.push((cpuMicros() - start) / secrets.length);
      if (into === misses && profiler) {
        const { profile } = await profiler.post('Profiler.stop');
        writeFileSync(args.profile!, JSON.stringify(profile));
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `${STORED} stored, ${KEYS} keys × ${ROUNDS} rounds: miss ${median(misses).toFixed(1)} µs CPU (${misses.map((m) => m.toFixed(1)).join(', ')}), ` +
      `hit ${median(hits).toFixed(1)} µs (${hits.map((m) => m.toFixed(1)).join(', ')}), ` +
      `expired ${median(expired).toFixed(1)} µs (${expired.map((m) => m.toFixed(1)).join(', ')})`,
  );
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
