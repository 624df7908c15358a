/**
 * Cold start (issue 14): time from spawning `gatehouse start` to the first 200 through the gateway,
 * with a store of N keys.
 *
 *   node bench/cold-start.ts [--keys 1000000] [--runs 5] [--workers 1] [--profile]
 *
 * The store is made once per key count in bench/results/stores/keys-<N>/ (reused by later runs; delete
 * the directory to make it again): one API, one app and one key through Gatehouse's own services, then
 * N - 1 more keys like it written straight into the keys table (bench/lib/bulk-store.ts). Each run
 * spawns `node src/cli/main.ts start` on that store (authorization server on, as in production; the
 * page cache is warm after the first run, as after a restart) and polls the gateway every 2 ms with a
 * real key until it answers 200 (the key is looked up in the store on that first request); it reports
 * the time to the first accepted connection, to the first 200 (and the CPU time the process had used by then,
 * steadier than wall time on a shared machine), to the control plane's first answer and to the authorization server's.
 * `--profile` passes `--cpu-prof` to the child (bench/results/profiles/cold-start/*.cpuprofile).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GATEHOUSE_ENV, GATEHOUSE_NODE_FLAGS } from './lib/children.ts';
import { treeCpuMicros } from './lib/machine.ts';
import { seedStore, storeEnv, type SeededStore } from './lib/seeded-store.ts';
import { median } from './lib/stats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '5' },
    workers: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
  },
});
const KEYS = Number(args.keys);

type Seeded = Pick<SeededStore, 'pepper' | 'masterKey' | 'apiId'> & { secret: string };

const envFor = (dir: string, seeded: Seeded, ports: { gateway: number; control: number }): Record<string, string> =>
  storeEnv(dir, seeded, {
    GATEHOUSE_GATEWAY_PORT: String(ports.gateway),
    GATEHOUSE_CONTROL_PORT: String(ports.control),
    GATEHOUSE_GATEWAY_WORKERS: args.workers,
  });

/** Made once per key count, then reused (the seed's secrets are kept beside the store). */
async function seed(dir: string): Promise<Seeded> {
  const file = join(dir, 'bench-seed.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Seeded;
  rmSync(dir, { recursive: true, force: true });
  const started = performance.now();
  const store = await seedStore(dir, KEYS);
  console.error(`seeded ${KEYS} keys in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const seeded: Seeded = { pepper: store.pepper, masterKey: store.masterKey, apiId: store.apiId, secret: store.secrets[0]! };
  writeFileSync(file, JSON.stringify(seeded), { mode: 0o600 });
  return seeded;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** When a connection to the gateway was first accepted (the kernel accepts once it listens): ms since spawn. */
let connected: number | null = null;
let spawnedAt = 0;

function get(port: number, path: string, headers: Record<string, string>): Promise<number | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('socket', (socket) => socket.once('connect', () => (connected ??= performance.now() - spawnedAt)));
    // Refused or reset: not serving yet.
    req.on('error', () => resolve(null));
    req.end();
  });
}

/** Polls until `ok` holds of the answer; returns ms since `t0` of the first answer and of the first accepted one. */
async function until(t0: number, port: number, path: string, headers: Record<string, string>, ok: (status: number) => boolean) {
  let firstAnswer: number | null = null;
  for (;;) {
    const status = await get(port, path, headers);
    if (status !== null) firstAnswer ??= performance.now() - t0;
    if (status !== null && ok(status)) return { firstAnswer: firstAnswer!, ok: performance.now() - t0 };
    if (performance.now() - t0 > 60_000) throw new Error(`no answer on ${port}${path} within 60 s (last: ${status})`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const storeDir = join(here, 'results', 'stores', `keys-${KEYS}`);
const seeded = await seed(storeDir);
const upstream: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
{
  const db = new DatabaseSync(join(storeDir, 'gatehouse.db'));
  db.prepare(`UPDATE apis SET data = json_set(data, '$.upstreamUrl', ?) WHERE id = ?`).run(upstreamUrl, seeded.apiId);
  db.close();
}

const profileDir = join(here, 'results', 'profiles', 'cold-start');
if (args.profile) mkdirSync(profileDir, { recursive: true });
const results: { listening: number; gatewayAccepts: number; first200: number; cpu: number; control: number; all: number }[] = [];
for (let run = 0; run < Number(args.runs); run++) {
  const ports = { gateway: await freePort(), control: await freePort() };
  const t0 = performance.now();
  ((spawnedAt = t0), (connected = null));
  const child = spawn(
    join(root, 'node_modules', '.bin', 'node'),
    [...GATEHOUSE_NODE_FLAGS, ...(args.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), join(root, 'src', 'cli', 'main.ts'), 'start'],
    { env: { PATH: process.env.PATH ?? '', ...GATEHOUSE_ENV, ...envFor(storeDir, seeded, ports) }, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const gateway = await until(t0, ports.gateway, '/bench/x', { authorization: `Bearer ${seeded.secret}` }, (s) => s === 200);
    // CPU time is steadier than wall time on a shared machine: what the start itself cost, all threads.
    const cpu = treeCpuMicros(child.pid!) / 1000;
    const control = await until(t0, ports.control, '/livez', {}, (s) => s === 200);
    // The authorization server is the last part up (startGatehouse has returned, signals are handled).
    const all = await until(t0, ports.control, '/.well-known/openid-configuration', {}, (s) => s === 200);
    results.push({ listening: connected!, gatewayAccepts: gateway.firstAnswer, first200: gateway.ok, cpu, control: control.ok, all: all.ok });
    console.error(
      `run ${run + 1}: gateway listening ${connected!.toFixed(0)} ms, first answer ${gateway.firstAnswer.toFixed(0)} ms, first 200 ${gateway.ok.toFixed(0)} ms (CPU ${cpu.toFixed(0)} ms), ` +
        `control plane ${control.ok.toFixed(0)} ms, authorization server ${all.ok.toFixed(0)} ms`,
    );
  } finally {
    // A graceful stop (the usage flush, the store closed); one that takes over 10 s, or a failed run, is killed.
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
}
upstream.close();
const col = (f: (r: (typeof results)[number]) => number) => median(results.map(f)).toFixed(0);
console.log(
  `cold start, ${KEYS} keys in the store, gateway.workers ${args.workers}, median of ${results.length}: ` +
    `gateway listening ${col((r) => r.listening)} ms, first answer ${col((r) => r.gatewayAccepts)} ms, first 200 ${col((r) => r.first200)} ms (CPU ${col((r) => r.cpu)} ms), control plane /livez ${col((r) => r.control)} ms, authorization server ${col((r) => r.all)} ms`,
);
