/**
 * Gatehouse on several nodes, in one run: gateway processes started through the CLI (`gatehouse start`)
 * on one private PostgreSQL and one private Redis, all on loopback.
 *
 * (a) Throughput of 1, 2 and 3 nodes: one wrk per node at once (the connections split between them),
 *     their requests summed; rounds interleave the node counts, the median round is shown.
 * (b) The extra CPU per request of Redis-backed limits against local (in-memory) ones: the same route,
 *     key and rate limit on a node with Redis and a node without, measured one after the other in
 *     alternating order each round (CPU time of the node's process from /proc, and of redis-server).
 * (c) Change propagation: a key used on node B, revoked through node A's admin API, then asked at B
 *     every millisecond until it is refused (the doorbell; the poll interval is the outer bound).
 *
 * The machine's load average is printed at start and end: with other work on it, read the figures as
 * ratios between what ran in the same run.
 *
 *   node bench/multi-node.ts [--seconds 5] [--rounds 3] [--connections 48] [--samples 100]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ADMIN_PERMISSIONS } from '../src/domain/permissions.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { startRedis } from '../test/support/redis.ts';
import { startChild, stopChild, track } from './lib/children.ts';
import { BenchFailure, closedLoop, pickGenerator, run, type ClosedLoopResult } from './lib/load.ts';
import { pinning } from './lib/pinning.ts';
import { processTree, treeCpuMicros } from './lib/machine.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '48' },
    samples: { type: 'string', default: '100' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const samples = Number(values.samples);

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const node = process.execPath;
const cli = join(root, 'src', 'cli', 'main.ts');
const noPin = pinning(false);
const generator = pickGenerator(undefined);
if (generator !== 'wrk') throw new BenchFailure('bench/multi-node.ts runs one wrk per node: install wrk');
const load = { generator, connections, pin: noPin } as const;

const loadAtStart = loadavg();
console.log(
  `multi-node: ${cpus().length} CPUs, load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}; ${rounds} rounds of ${seconds} s, ${connections} connections`,
);

const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
const dirs: string[] = [];
const nodes: ChildProcess[] = [];

interface Node {
  name: string;
  proc: ChildProcess;
  gatewayUrl: string;
  controlUrl: string;
}

const baseEnv = (): NodeJS.ProcessEnv => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-multi-node-'));
  dirs.push(dir);
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GATEHOUSE_PEPPER: 'bench-pepper-0123456789abcdefghijklmnopqrstuvwxyz',
    GATEHOUSE_DATA_DIR: dir,
    GATEHOUSE_STORE_DRIVER: 'postgres',
    GATEHOUSE_STORE_URL: pg.urlWithoutPassword('multinode'),
    GATEHOUSE_STORE_PASSWORD: pg.password,
    GATEHOUSE_GATEWAY_PORT: '0',
    GATEHOUSE_CONTROL_PORT: '0',
    // One gateway thread per node: three nodes already share two cores here.
    GATEHOUSE_GATEWAY_WORKERS: '1',
    // wrk speaks plain HTTP on loopback.
    GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'allow',
    GATEHOUSE_LOG_LEVEL: 'warn',
    // Each revoked key polled in (c) is a failed check from 127.0.0.1: the failure throttle must not step in.
    GATEHOUSE_AUTH_FAILURES_LIMIT: '1000000',
    GATEHOUSE_METRICS_ENABLED: 'false',
  };
};
const redisEnv = { GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_REDIS_PASSWORD: redis.password, GATEHOUSE_REDIS_EXPECTED_NODES: '3' };

/** `gatehouse start --json` as a child process; resolves with its URLs once it listens. */
function startNode(name: string, env: NodeJS.ProcessEnv): Promise<Node> {
  const proc = track(spawn(node, [cli, 'start', '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] }));
  nodes.push(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s: ${out}`)), 60_000);
    proc.once('exit', (code) => reject(new Error(`${name} exited (${code}) while starting: ${out}`)));
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"gatewayUrl":\s*"([^"]+)"[\s\S]*?"controlUrl":\s*"([^"]+)"/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      proc.stdout!.removeAllListeners('data');
      proc.stdout!.resume();
      resolve({ name, proc, gatewayUrl: match[1]!, controlUrl: match[2]! });
    });
  });
}

async function stopNode(n: Node): Promise<void> {
  if (n.proc.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => n.proc.once('exit', () => resolve()));
  n.proc.kill('SIGTERM');
  await exited;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const pick = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
const redisServerPid = (): number => {
  const pid = processTree(process.pid).find((p) => existsSync(`/proc/${p}/comm`) && readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'redis-server');
  if (pid === undefined) throw new Error('no redis-server among this process tree');
  return pid;
};

function checked(what: string, r: ClosedLoopResult): ClosedLoopResult {
  if (r.failures > 0) throw new BenchFailure(`${what}: ${r.failures} failed requests (${r.failureDetail})`);
  return r;
}

try {
  await pg.createDatabase('multinode');
  const upstream = await startChild<{ url: string }>(noPin, 'upstream', 'upstream-child.ts', [], '');
  const first = await startNode('node 1', { ...baseEnv(), ...redisEnv });
  // An admin key through the CLI, as an operator makes one.
  const created = JSON.parse(
    await run(node, [cli, 'admin-keys', 'create', '--name', 'bench', '--permissions', ADMIN_PERMISSIONS.join(','), '--json'], { ...baseEnv(), ...redisEnv }),
  ) as { secret: string };
  const admin = async (n: Node, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${n.controlUrl}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${created.secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer = (await res.json()) as Record<string, string>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  const api = await admin(first, 'POST', '/apis', { name: 'orders', listenPath: '/orders', upstreamUrl: upstream.url });
  const app = await admin(first, 'POST', '/apps', { name: 'bench' });
  // A rate limit that is checked and counted on every request and never refuses one.
  const key = await admin(first, 'POST', '/keys', {
    appId: app.id,
    access: [{ apiId: api.id }],
    rateLimits: [{ name: 'per-minute', limit: 1_000_000_000, windowSeconds: 60 }],
  });
  const secret = key.secret!;
  const headers = [{ authorization: `Bearer ${secret}` }];
  const status = async (n: Node, secret: string) => (await fetch(`${n.gatewayUrl}/orders/items`, { headers: { authorization: `Bearer ${secret}` } })).status;
  const until = async (n: Node, secret: string, expected: number) => {
    const deadline = performance.now() + 30_000;
    while ((await status(n, secret)) !== expected) {
      if (performance.now() > deadline) throw new Error(`${n.name}: no ${expected} within 30 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  const second = await startNode('node 2', { ...baseEnv(), ...redisEnv });
  const third = await startNode('node 3', { ...baseEnv(), ...redisEnv });
  const all = [first, second, third];
  for (const n of all) await until(n, secret, 200);
  // Warm-up: each node's hot path compiled before anything is measured.
  await Promise.all(all.map((n) => closedLoop({ ...load, connections: 8 }, `${n.gatewayUrl}/orders/items`, headers, 2)));

  // (a) 1, 2 and 3 nodes, interleaved.
  const throughput: Record<number, number[]> = { 1: [], 2: [], 3: [] };
  for (let round = 0; round < rounds; round++) {
    for (const count of [1, 2, 3]) {
      const targets = all.slice(0, count);
      const each = { ...load, connections: Math.max(1, Math.floor(connections / count)) };
      const results = await Promise.all(targets.map((n) => closedLoop(each, `${n.gatewayUrl}/orders/items`, headers, seconds)));
      const rps = results.reduce((sum, r, i) => sum + checked(`${count} nodes, ${targets[i]!.name}`, r).requests / r.seconds, 0);
      throughput[count]!.push(rps);
      console.log(`  round ${round + 1}, ${count} node(s): ${Math.round(rps)} requests/s`);
    }
  }

  // (c) A revoke on node 1, seen at node 2.
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const fresh = await admin(first, 'POST', '/keys', { appId: app.id, access: [{ apiId: api.id }] });
    await until(second, fresh.secret!, 200);
    const started = performance.now();
    await admin(first, 'POST', `/keys/${fresh.id}/revoke`, { reason: 'bench' });
    await until(second, fresh.secret!, 401);
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);

  // (b) The same route and key on a node counting limits in Redis (node 1) and one counting them in memory.
  await Promise.all([stopNode(second), stopNode(third)]);
  const local = await startNode('local limits', baseEnv());
  await until(local, secret, 200);
  await closedLoop({ ...load, connections: 8 }, `${local.gatewayUrl}/orders/items`, headers, 2);
  const redisPid = redisServerPid();
  const perRequest: Record<'redis' | 'local', { gateway: number[]; redis: number[]; rps: number[] }> = {
    redis: { gateway: [], redis: [], rps: [] },
    local: { gateway: [], redis: [], rps: [] },
  };
  for (let round = 0; round < rounds; round++) {
    const order: ['redis' | 'local', Node][] = [
      ['redis', first],
      ['local', local],
    ];
    if (round % 2 === 1) order.reverse();
    for (const [mode, n] of order) {
      const [cpu0, redis0] = [treeCpuMicros(n.proc.pid!), treeCpuMicros(redisPid)];
      const r = checked(`${mode} limits`, await closedLoop(load, `${n.gatewayUrl}/orders/items`, headers, seconds));
      const [cpu1, redis1] = [treeCpuMicros(n.proc.pid!), treeCpuMicros(redisPid)];
      perRequest[mode].gateway.push((cpu1 - cpu0) / r.requests);
      perRequest[mode].redis.push((redis1 - redis0) / r.requests);
      perRequest[mode].rps.push(r.requests / r.seconds);
      console.log(
        `  round ${round + 1}, ${mode} limits: ${Math.round(r.requests / r.seconds)} requests/s, gateway ${((cpu1 - cpu0) / r.requests).toFixed(1)} µs/request, redis-server ${((redis1 - redis0) / r.requests).toFixed(1)} µs/request`,
      );
    }
  }
  await stopNode(local);
  await stopChild(upstream.proc);

  const loadAtEnd = loadavg();
  const t = (count: number) => median(throughput[count]!);
  const g = (mode: 'redis' | 'local') => median(perRequest[mode].gateway);
  const rs = median(perRequest.redis.redis);
  console.log('\nmulti-node results (medians of the rounds)');
  console.log(
    `  throughput: 1 node ${Math.round(t(1))}/s, 2 nodes ${Math.round(t(2))}/s (${(t(2) / t(1)).toFixed(2)}x), 3 nodes ${Math.round(t(3))}/s (${(t(3) / t(1)).toFixed(2)}x)`,
  );
  console.log(
    `  limits in Redis: gateway ${g('redis').toFixed(1)} µs/request against ${g('local').toFixed(1)} in memory (+${(g('redis') - g('local')).toFixed(1)} µs, ${(g('redis') / g('local')).toFixed(2)}x), plus redis-server ${rs.toFixed(1)} µs/request; ${Math.round(median(perRequest.redis.rps))}/s against ${Math.round(median(perRequest.local.rps))}/s`,
  );
  console.log(
    `  revoke on node 1 refused at node 2: samples ${latencies.length}, p50 ${pick(latencies, 0.5).toFixed(1)} ms, p99 ${pick(latencies, 0.99).toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`,
  );
  console.log(`  load average: start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, end ${loadAtEnd.map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  for (const proc of nodes) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  await Promise.all([pg.stop(), redis.stop()]);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
