/**
 * CPU per request of Gatehouse with metrics on against off, resolved finer than bench/gateway.ts can on
 * a busy machine: both Gatehouses (bench/gatehouse-child.ts, the same seed) run side by side, and each
 * round sends exactly --amount requests to each, the order alternating from round to round, reading the
 * Gatehouse process's own CPU time (user + system) before and after. Other work on the machine only ever
 * adds to a run's CPU time, so the minimum over the rounds is the cleanest figure; the median is beside it.
 *
 *   node bench/metrics-ab.ts [--rounds 10] [--amount 30000] [--connections 50]
 *
 * Load from autocannon (a devDependency). On Linux with taskset and 2+ CPUs, as in bench/gateway.ts, the
 * Gatehouses run on the last CPU and the upstream and the load generator on the others. Fails if any
 * answer is not a 2xx.
 */
import { execFileSync, fork, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '10' }, amount: { type: 'string', default: '30000' }, connections: { type: 'string', default: '50' } },
});
const ROUNDS = Number(args.rounds);
const AMOUNT = Number(args.amount);
const PIN = cpus().length >= 2 && !spawnSync('taskset', ['-c', '0', 'true']).error;
const GATEHOUSE_CPUS = String(cpus().length - 1);
const LOAD_CPUS = cpus().length === 2 ? '0' : `0-${cpus().length - 2}`;
/** `file argv`, on `cpuList` when pinning. */
const pinned = (cpuList: string, file: string, argv: string[]): [string, string[]] => (PIN ? ['taskset', ['-c', cpuList, file, ...argv]] : [file, argv]);

interface Child {
  proc: ChildProcess;
  url: string;
  path: string;
  headers: Record<string, string>;
}

const started: ChildProcess[] = [];
process.on('exit', () => started.forEach((p) => p.kill()));

function message<T>(proc: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string }) => {
      if (m.type !== type) return;
      proc.off('message', onMessage).off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null) => reject(new Error(`child exited (${code}) before '${type}'`));
    proc.on('message', onMessage).once('exit', onExit);
  });
}

async function start(script: string, argv: string[]): Promise<Child> {
  const [execPath, execArgv] = pinned(script === 'gatehouse-child.ts' ? GATEHOUSE_CPUS : LOAD_CPUS, process.execPath, [
    '--disable-warning=ExperimentalWarning',
  ]);
  const proc = fork(join(here, script), argv, { execPath, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  started.push(proc);
  return { proc, path: '', headers: {}, ...(await message<{ url: string; path?: string; headers?: Record<string, string> }>(proc, 'ready')) } as Child;
}

async function cpuMicros(child: Child): Promise<number> {
  const reply = message<{ user: number; system: number }>(child.proc, 'cpu');
  child.proc.send({ type: 'cpu' });
  const { user, system } = await reply;
  return user + system;
}

/** Sends exactly `amount` requests; returns how many completed. */
function load(child: Child, amount: number): number {
  const headers = Object.entries(child.headers).flatMap(([name, value]) => ['-H', `${name}=${value}`]);
  const out = execFileSync(
    ...pinned(LOAD_CPUS, join(here, '..', 'node_modules', '.bin', 'autocannon'), [
      '-j',
      '-c',
      args.connections,
      '-a',
      String(amount),
      ...headers,
      `${child.url}${child.path}`,
    ]),
    { maxBuffer: 1 << 26 },
  );
  const r = JSON.parse(out.toString()) as { requests: { total: number }; non2xx: number; errors: number; timeouts: number };
  if (r.non2xx + r.errors + r.timeouts > 0) throw new Error(`failed requests: ${JSON.stringify({ non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts })}`);
  return r.requests.total;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const upstream = await start('upstream-child.ts', []);
const variants: [string, Child][] = [
  ['metrics on', await start('gatehouse-child.ts', [upstream.url, 'apiKey', 'metrics-on'])],
  ['metrics off', await start('gatehouse-child.ts', [upstream.url, 'apiKey', 'metrics-off'])],
];
for (const [, child] of variants) load(child, AMOUNT); // warm-up: JIT, pools, caches
const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, child] of round % 2 ? [...variants].reverse() : variants) {
    const before = await cpuMicros(child);
    const done = load(child, AMOUNT);
    samples.get(name)!.push(((await cpuMicros(child)) - before) / done);
  }
}
const [on, off] = [samples.get('metrics on')!, samples.get('metrics off')!];
console.log(`${PIN ? `Gatehouses pinned to CPU ${GATEHOUSE_CPUS}, upstream and load to ${LOAD_CPUS}` : 'No CPU pinning'}.\n`);
console.log(`| Gatehouse CPU µs per request, ${ROUNDS} rounds × ${AMOUNT} requests, order alternating | min | median | every round |`);
console.log('| --- | ---: | ---: | --- |');
for (const [name, xs] of samples)
  console.log(`| ${name} | ${Math.min(...xs).toFixed(1)} | ${median(xs).toFixed(1)} | ${xs.map((x) => x.toFixed(1)).join(' ')} |`);
console.log(`| on / off | ${(Math.min(...on) / Math.min(...off)).toFixed(3)}× | ${(median(on) / median(off)).toFixed(3)}× | |`);
process.exit(0);
