/**
 * The load the benchmarks send: closed loop at max throughput (wrk, or autocannon when wrk is not on
 * PATH) and open loop at a fixed offered rate (bench/open-loop-child.ts), both on the load CPUs.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenLoopResult } from '../open-loop-child.ts';
import { forkOn, nextMessage } from './children.ts';
import type { Pinning } from './pinning.ts';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A failure of what is measured (a refused or failed request): the run's figures would not be honest. */
export class BenchFailure extends Error {}

export type Generator = 'wrk' | 'autocannon';
export type Headers = Record<string, string>;
/** What the requests send: one set of headers, or several (one per API key) taken in turn. */
export type Load = Headers[];

export interface ClosedLoopResult {
  requests: number;
  seconds: number;
  failures: number;
  failureDetail: string;
}

export function run(file: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, argv, { maxBuffer: 16 * 1024 * 1024, env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${argv.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export function pickGenerator(choice: string | undefined): Generator {
  if (choice === 'wrk' || choice === 'autocannon') return choice;
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return probe.error ? 'autocannon' : 'wrk';
}

const keyFiles = new WeakMap<Load, string>();
const keyDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-keys-'));
process.on('exit', () => rmSync(keyDir, { recursive: true, force: true }));

/** With several header sets, wrk reads them from a file (bench/wrk-keys.lua), one line per set. */
function wrkScript(load: Load): { script: string; headerArgs: string[]; env: NodeJS.ProcessEnv } {
  if (load.length === 1)
    return { script: join(benchDir, 'wrk-report.lua'), headerArgs: Object.entries(load[0]!).flatMap(([n, v]) => ['-H', `${n}: ${v}`]), env: process.env };
  let file = keyFiles.get(load);
  if (!file) {
    if (load.some((set) => Object.keys(set).length !== 1)) throw new BenchFailure('several header sets take one header each');
    file = join(keyDir, `headers-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(file, load.map((set) => Object.entries(set).map(([n, v]) => `${n}: ${v}`)[0]).join('\n') + '\n', { mode: 0o600 });
    keyFiles.set(load, file);
  }
  return {
    script: join(benchDir, 'wrk-keys.lua'),
    headerArgs: [],
    env: { ...process.env, BENCH_KEYS_FILE: file, BENCH_REPORT_LUA: join(benchDir, 'wrk-report.lua') },
  };
}

export interface ClosedLoopSettings {
  generator: Generator;
  connections: number;
  pin: Pinning;
}

export async function closedLoop({ generator, connections, pin }: ClosedLoopSettings, url: string, load: Load, seconds: number): Promise<ClosedLoopResult> {
  if (generator === 'wrk') {
    const { script, headerArgs, env } = wrkScript(load);
    const out = await run(
      ...pin.on(pin.loadCpus, 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', script, ...headerArgs, url]),
      env,
    );
    const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
    if (!line) throw new Error(`wrk printed no summary:\n${out}`);
    const r = JSON.parse(line.slice('BENCH_JSON '.length)) as Record<string, number>;
    const failures = r.connectErrors! + r.readErrors! + r.writeErrors! + r.non2xx3xx! + r.timeouts!;
    return {
      requests: r.requests!,
      seconds: r.durationUs! / 1e6,
      failures,
      failureDetail: `connect ${r.connectErrors}, read ${r.readErrors}, write ${r.writeErrors}, non-2xx/3xx ${r.non2xx3xx}, timeouts ${r.timeouts}`,
    };
  }
  if (load.length > 1) throw new BenchFailure('--keys above 1 needs wrk');
  const h = Object.entries(load[0]!).flatMap(([name, value]) => ['-H', `${name}=${value}`]);
  const out = await run(
    ...pin.on(pin.loadCpus, join(benchDir, '..', 'node_modules', '.bin', 'autocannon'), ['-j', '-c', String(connections), '-d', String(seconds), ...h, url]),
  );
  const r = JSON.parse(out) as { requests: { total: number }; duration: number; non2xx: number; errors: number; timeouts: number; '3xx': number };
  return {
    requests: r.requests.total,
    seconds: r.duration,
    failures: r.non2xx + r.errors + r.timeouts,
    failureDetail: `non-2xx ${r.non2xx} (3xx ${r['3xx']}), errors ${r.errors}, timeouts ${r.timeouts}`,
  };
}

export const OPEN_LOOP_WARMUP_MS = 5000;

export interface OpenLoopSettings {
  pin: Pinning;
  rate: number;
  durationS: number;
  connections: number;
}

export async function openLoop({ pin, rate, durationS, connections }: OpenLoopSettings, url: string, path: string, load: Load): Promise<OpenLoopResult> {
  const { origin } = new URL(url);
  // The generator is a new Node process each time: for its first seconds its own JIT and heap sizing
  // hold requests up by tens of ms (at 5,000 req/s straight to the upstream: p99 11-27 ms after a 1 s
  // warm-up, 0.9 ms after 4 s), which would be charged to the target. So it warms up for 5 s first.
  const options = { url: origin, path, headers: load, rate, durationMs: durationS * 1000, warmupMs: OPEN_LOOP_WARMUP_MS, connections };
  const proc = forkOn(pin, pin.loadCpus, 'open-loop-child.ts', []);
  proc.send({ type: 'options', options });
  const { result } = await nextMessage<{ result: OpenLoopResult }>(proc, 'result', (durationS + 30) * 1000);
  return result;
}
