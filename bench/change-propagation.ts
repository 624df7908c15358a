/**
 * How long a revocation made on one node takes to reach another node's gateway: two Gatehouse
 * nodes on one private PostgreSQL, with the Redis doorbell and without it (polling the store only).
 * For each of --samples keys: the key is used on node B (so B caches it), revoked through A's admin
 * API, then B is asked every millisecond until it refuses it. Prints p50, p99 and max per mode.
 *
 *   node bench/change-propagation.ts [--samples 100] [--poll-seconds 1]
 */
import { parseArgs } from 'node:util';
import { startPostgres } from '../test/support/postgres.ts';
import { startRedis } from '../test/support/redis.ts';
import { call, seed, startHarness, TestClock, type Harness } from '../test/support/harness.ts';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '100' }, 'poll-seconds': { type: 'string', default: '1' } } });
const samples = Number(values.samples);
const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);

async function measure(mode: 'doorbell' | 'poll'): Promise<number[]> {
  const database = `propagation_${mode}`;
  await pg.createDatabase(database);
  const env: Record<string, string> = {
    GATEHOUSE_STORE_DRIVER: 'postgres',
    GATEHOUSE_STORE_URL: pg.urlWithoutPassword(database),
    GATEHOUSE_STORE_PASSWORD: pg.password,
    GATEHOUSE_CHANGES_POLL_INTERVAL_SECONDS: values['poll-seconds'],
    ...(mode === 'doorbell' ? { GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_REDIS_PASSWORD: redis.password } : {}),
  };
  const clock = TestClock.wall();
  const a = await startHarness(env, clock);
  const b = await startHarness(env, clock);
  try {
    const ids = await seed(a);
    await until(b, ids.secret, 200);
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const key = await a.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
      await until(b, key.body.secret, 200);
      const started = performance.now();
      await a.admin('POST', `/keys/${key.body.id}/revoke`, { reason: 'bench' });
      await until(b, key.body.secret, 401);
      latencies.push(performance.now() - started);
    }
    return latencies.sort((x, y) => x - y);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function until(h: Harness, secret: string, status: number): Promise<void> {
  const deadline = performance.now() + 30_000;
  while ((await call(h, '/orders/1', { key: secret })).status !== status) {
    if (performance.now() > deadline) throw new Error(`no ${status} within 30 s`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

const pick = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
try {
  for (const mode of ['doorbell', 'poll'] as const) {
    const l = await measure(mode);
    console.log(`${mode.padEnd(8)} samples ${l.length}  p50 ${pick(l, 0.5).toFixed(1)} ms  p99 ${pick(l, 0.99).toFixed(1)} ms  max ${l.at(-1)!.toFixed(1)} ms`);
  }
} finally {
  await Promise.all([pg.stop(), redis.stop()]);
}
