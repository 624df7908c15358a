/**
 * The load the benchmarks send: closed loop at max throughput (wrk, or autocannon when wrk is not on
 * PATH) and open loop at a fixed offered rate (bench/open-loop-child.ts), both on the load CPUs.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenLoopResult } from '../open-loop-child.ts';
import { Pool } from 'undici';
import { forkOn, nextMessage } from './children.ts';
import type { Pinning } from './pinning.ts';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A failure of what is measured (a refused or failed request): the run's figures would not be honest. */
export class BenchFailure extends Error {}

export type Generator = 'wrk' | 'autocannon';
export type Headers = Record<string, string>;
/** What the requests send: one set of headers, or several (one per API key) taken in turn. */
export type Load = Headers[];

/**
 * What a Gatehouse child's ready message says of its load (bench/seed.ts): the first key's headers and a
 * file of the other hot keys' secrets; a child of an older tree sends the header sets themselves.
 */
export interface ReadyLoad {
  headers?: Headers;
  hotSecretsFile?: string | null;
  headerSets?: Load;
}

/** The header sets a ready message names: the first key's, then one per secret in the file. */
export function loadOf(ready: ReadyLoad): Load {
  if (ready.headerSets && ready.headerSets.length > 0) return ready.headerSets;
  const first = ready.headers ?? {};
  if (!ready.hotSecretsFile) return [first];
  const secrets = readFileSync(ready.hotSecretsFile, 'utf8').split('\n').filter(Boolean);
  return [first, ...secrets.map((secret) => ({ authorization: `Bearer ${secret}` }))];
}

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

/**
 * Sends one request with each header set (each API key), `connections` at a time, so that every key is
 * hot (cached, counted, in analytics) before anything is measured: the timed runs alone present only as
 * many keys as they have requests (wrk starts each run at a random key, bench/wrk-keys.lua), far fewer
 * than 100,000 at a few thousand requests a second (issue 14's memory target: 100k hot keys).
 */
export async function presentEachOnce(url: string, load: Load, connections: number): Promise<ClosedLoopResult> {
  const { origin, pathname, search } = new URL(url);
  const pool = new Pool(origin, { connections });
  const started = performance.now();
  let next = 0;
  let failures = 0;
  const statuses = new Map<number | string, number>();
  const sender = async (): Promise<void> => {
    while (next < load.length) {
      const headers = load[next++]!;
      try {
        const res = await pool.request({ path: pathname + search, method: 'GET', headers });
        await res.body.dump();
        if (res.statusCode >= 400) {
          failures += 1;
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        }
      } catch (error) {
        failures += 1;
        const name = error instanceof Error ? error.name : 'error';
        statuses.set(name, (statuses.get(name) ?? 0) + 1);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, sender));
  } finally {
    await pool.close();
  }
  return { requests: load.length, seconds: (performance.now() - started) / 1000, failures, failureDetail: JSON.stringify(Object.fromEntries(statuses)) };
}

/**
 * A target's first warm-up: with several keys, each presented once (presentEachOnce), then `seconds`
 * of closed loop (JIT, heap sizing, connection pools). Any failed request fails the benchmark.
 * With `workers` gateway threads each has a cache of its own, and the kernel hands each connection to
 * one of them: the keys are presented again over fresh connections until each worker has most likely
 * seen every key (at most 1 % missed per worker), so the measured runs are not its first reads.
 */
export async function initialWarmUp(settings: ClosedLoopSettings, name: string, url: string, load: Load, seconds: number, workers = 1): Promise<void> {
  if (load.length > 1) {
    const passes = workers > 1 ? Math.ceil(Math.log(0.01) / Math.log(1 - 1 / workers)) : 1;
    let took = 0;
    for (let pass = 0; pass < passes; pass++) {
      const once = await presentEachOnce(url, load, settings.connections);
      if (once.failures > 0) throw new BenchFailure(`${name}: ${once.failures} failed responses presenting each key once (${once.failureDetail})`);
      took += once.seconds;
    }
    const times = passes === 1 ? 'once' : `${passes} times over fresh connections (${workers} workers)`;
    console.error(`benchmark: ${name}: each of ${load.length} keys presented ${times} in ${took.toFixed(1)} s`);
  }
  const warm = await closedLoop(settings, url, load, seconds);
  if (warm.failures > 0) throw new BenchFailure(`${name}: ${warm.failures} failed responses during the initial warm-up (${warm.failureDetail})`);
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
