/**
 * What a usage flush costs PostgreSQL per used key: each round counts a day, a last use, a quota and an
 * address for every key and writes them in parts of 1,000 (as the usage recorder does), all on one day,
 * then reads the write-ahead log it made; at the end, how many row updates were HOT (heap-only: a new row
 * version on the same page, no index entries). A private server (test/support/postgres.ts).
 *
 *   node bench/usage-flush-postgres.ts [--keys 10000] [--rounds 6] [--history-days 30]
 *
 * The first round inserts every row; the later ones add to them, as a flush does all day. Each key has
 * `--history-days` earlier daily counts, as on a cluster that has run that long.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { UsageBatch } from '../src/store/port.ts';
import { openPostgresStore } from '../src/store/postgres/postgres-store.ts';
import { startPostgres } from '../test/support/postgres.ts';

const { values: args } = parseArgs({
  options: { keys: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '6' }, 'history-days': { type: 'string', default: '30' } },
});
const HISTORY_DAYS = Number(args['history-days']);
const KEYS = Number(args.keys);
const ROUNDS = Number(args.rounds);
const PART = 1000;
const FLUSHED = ['key_addresses', 'usage_daily', 'key_last_use', 'quota_usage'];

const server = await startPostgres();
const store = openPostgresStore({ connectionString: server.url, statementTimeoutMs: 120_000 });
const client = new pg.Client({ connectionString: server.url });
try {
  await store.migrate();
  await client.connect();
  await client.query("INSERT INTO apps (id, name, data, created_at, updated_at) VALUES ('app_bench', 'bench', '{}', 0, 0)");
  await client.query(
    `INSERT INTO keys (id, app_id, policy_id, hash, environment, enabled, expires_at, revoked_at, lineage_id, data, created_at, updated_at)
     SELECT 'key_' || lpad(i::text, 28, '0'), 'app_bench', NULL, 'hash-' || i, 'live', true, NULL, NULL, 'key_' || lpad(i::text, 28, '0'), '{}', 0, 0
     FROM generate_series(1, $1::int) i`,
    [KEYS],
  );
  await client.query(
    `INSERT INTO usage_daily (key_id, day, requests)
     SELECT k.id, to_char(date '2026-12-02' - d, 'YYYY-MM-DD'), 5 FROM generate_series(1, $1::int) d, (SELECT id FROM keys ORDER BY id) k ORDER BY d DESC, k.id`,
    [HISTORY_DAYS],
  );
  await client.query('VACUUM ANALYZE');
  const ids = Array.from({ length: KEYS }, (_, i) => `key_${String(i + 1).padStart(28, '0')}`);
  const day = Date.UTC(2026, 11, 2, 1);
  console.log(`| round | ms | µs per key | WAL bytes per key |\n|---|---:|---:|---:|`);
  for (let round = 0; round < ROUNDS; round++) {
    const at = day + round * 5000;
    const before = await wal();
    const start = performance.now();
    for (let i = 0; i < KEYS; i += PART) await store.usage.record(part(ids.slice(i, i + PART), at));
    const ms = performance.now() - start;
    console.log(`| ${round} | ${ms.toFixed(0)} | ${((ms * 1000) / KEYS).toFixed(1)} | ${(((await wal()) - before) / KEYS).toFixed(0)} |`);
  }
  // Each connection sends its statistics within 10 s of going idle (PGSTAT_IDLE_INTERVAL).
  await new Promise((resolve) => setTimeout(resolve, 11_000));
  const { rows } = await client.query(
    'SELECT coalesce(sum(n_tup_upd), 0)::bigint AS updates, coalesce(sum(n_tup_hot_upd), 0)::bigint AS hot FROM pg_stat_user_tables WHERE relname = ANY($1::text[])',
    [FLUSHED],
  );
  const { updates, hot } = rows[0] as { updates: string; hot: string };
  console.log(`\nrow updates in all: ${updates}, HOT: ${((Number(hot) / Number(updates)) * 100).toFixed(0)} %`);
  const size = (await client.query(`SELECT sum(pg_total_relation_size(t))::bigint AS bytes FROM unnest($1::text[]) t`, [FLUSHED])).rows[0] as { bytes: string };
  console.log(`\nthe four tables and their indexes: ${(Number(size.bytes) / 2 ** 20).toFixed(1)} MB`);
} finally {
  await client.end().catch(() => undefined);
  await store.close();
  await server.stop();
}

function part(keyIds: string[], at: number): UsageBatch {
  return {
    keys: keyIds.map((keyId, i) => ({ keyId, day: '2026-12-02', requests: 3, lastUsedAt: at, lastUsedFrom: `198.51.100.${i % 200}` })),
    quotas: keyIds.map((lineageId) => ({ lineageId, period: '2026-12', delta: 3, limit: 100_000 })),
    addresses: keyIds.map((keyId, i) => ({ keyId, address: `198.51.100.${i % 200}`, firstSeen: at, lastSeen: at, requests: 3 })),
    totalsFromPercent: Infinity,
  };
}

async function wal(): Promise<number> {
  const { rows } = await client.query("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS wal");
  return Number((rows[0] as { wal: string }).wal);
}
