/**
 * p99 at a fixed offered load and the scavenges behind it (their pauses, and what they promoted) (issue 14, "No stalls"), without a profiler
 * in the way: a seeded Gatehouse (bench/gatehouse-child.ts, --keys keys taken in turn) runs with
 * V8's --trace-gc-nvp, is warmed by a closed-loop run, then takes --rate req/s open loop (after the
 * generator's own warm-up); the scavenges its main thread made meanwhile are read off its output. Per
 * run: p50/p99/max; how long the main thread waited, runnable, for its CPU (another thread, its own or
 * another process's, had it: /proc schedstat); and the scavenges' count, mean and longest pause, and the heap's growth.
 * `--node-flags` go to Gatehouse after the ones it runs with (`--max-semi-space-size=16` overrides its 8).
 * `--config` is configuration over the defaults (as bench/cost-ab.ts takes it), to turn parts off;
 * `--bare` runs the bare undici proxy instead, for the floor. Each run also gives the target's CPU per request
 * and how busy that kept its CPU.
 *
 * `--matched` runs three targets per run: the bare proxy at --rate, Gatehouse at --rate, and the bare proxy
 * again at the rate that keeps its CPU as busy as Gatehouse's was (--rate × Gatehouse's CPU per request ÷
 * the bare proxy's, both just measured). A CPU busier with the same requests queues them longer, so part of
 * Gatehouse's p99 above the bare proxy's is its cost per request, not a stall: the third run shows how much.
 *
 *   node bench/stalls.ts [--keys 10000] [--rate 5000] [--seconds 8] [--runs 2] [--config '{"requestLog":{"enabled":false}}'] [--bare | --matched]
 *                        [--gc-log file]
 * `--gc-log` appends the target's GC trace (V8's --trace-gc-nvp) to a file, lines marked M while measured.
 */
import { fork } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GATEHOUSE_ENV, GATEHOUSE_NODE_FLAGS, killAll, nextMessage, startChild, stopChild, track } from './lib/children.ts';
import { closedLoop, loadOf, openLoop, pickGenerator, type Load, type ReadyLoad } from './lib/load.ts';
import { pinning } from './lib/pinning.ts';
import { runQueueWaitMicros, threadCpuMicros, treeCpuMicros } from './lib/machine.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '8' },
    runs: { type: 'string', default: '2' },
    config: { type: 'string', default: '{}' },
    bare: { type: 'boolean', default: false },
    matched: { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
    'gc-log': { type: 'string' },
  },
});
const pin = pinning(true);

/** A scavenge in --trace-gc-nvp's form (`[pid:isolate:n] t ms: pause=… gc=s … end_object_size=… promoted=…`), per isolate (the main one has the largest heap). */
const SCAVENGE = /^\[\d+:(0x[0-9a-f]+)(?::\d+)?\]\s+\d+ ms: pause=([\d.]+) .*\bgc=s\b.*\bend_object_size=(\d+) .*\bpromoted=(\d+)/;

interface Run {
  text: string;
  p99Ms: number;
  /** CPU µs per request of the target's process (every thread), over the open loop and its warm-up. */
  cpuPerRequest: number;
}

async function run(bare: boolean, rate: number): Promise<Run> {
  const upstream = await startChild(pin, 'upstream', 'upstream-child.ts', [], pin.loadCpus);
  const [script, argv] = bare ? ['bare-proxy-child.ts', [upstream.url]] : ['gatehouse-child.ts', [upstream.url, 'apiKey', 'on', args.keys, args.config]];
  // Gatehouse as it runs (bin/gatehouse.js's flags and environment); the bare proxy with Node's defaults.
  const flags = bare ? [] : [...GATEHOUSE_NODE_FLAGS, ...args['node-flags'].split(' ').filter(Boolean)];
  const env = bare ? process.env : { ...process.env, ...GATEHOUSE_ENV };
  const [execPath, execArgv] = pin.on(pin.targetCpus, process.execPath, ['--disable-warning=ExperimentalWarning', ...flags, '--trace-gc-nvp']);
  const target = track(fork(join(here, script), argv, { execPath, execArgv, env, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] }));
  const scavenges: { isolate: string; heapMb: number; pauseMs: number; promotedMb: number }[] = [];
  let measuring = false;
  let rest = '';
  target.stdout!.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop()!;
    if (args['gc-log']) appendFileSync(args['gc-log'], lines.map((l) => `${measuring ? 'M' : '-'} ${l}\n`).join(''));
    for (const line of lines) {
      const m = SCAVENGE.exec(line);
      if (m && measuring) scavenges.push({ isolate: m[1]!, heapMb: Number(m[3]) / 2 ** 20, pauseMs: Number(m[2]), promotedMb: Number(m[4]) / 2 ** 20 });
    }
  });
  const ready = await nextMessage<{ url: string; path?: string } & ReadyLoad>(target, 'ready', 600_000);
  const path = ready.path ?? '/bench/items';
  const load: Load = loadOf(ready);
  // Fills the key cache, the limiter and the usage counts of every key, and gets the JIT done.
  await closedLoop({ generator: pickGenerator(undefined), connections: 50, pin }, ready.url + path, load, 8);
  measuring = true;
  const waitedBefore = runQueueWaitMicros(target.pid!);
  const cpuBefore = treeCpuMicros(target.pid!);
  const threadsBefore = threadCpuMicros(target.pid!);
  const r = await openLoop({ pin, rate, durationS: Number(args.seconds), connections: 32 }, ready.url, path, load);
  const waitedMs = (runQueueWaitMicros(target.pid!) - waitedBefore) / 1000;
  const cpuPerRequest = (treeCpuMicros(target.pid!) - cpuBefore) / r.completedTotal;
  const byThread = [...threadCpuMicros(target.pid!)]
    .map(([name, after]) => [name, (after - (threadsBefore.get(name) ?? 0)) / r.completedTotal] as const)
    .filter(([, perRequest]) => perRequest >= 0.05)
    .map(([name, perRequest]) => `${name} ${perRequest.toFixed(1)}`)
    .join(', ');
  measuring = false;
  await stopChild(target);
  await stopChild(upstream.proc);
  const failures = r.non2xx + r.errors;
  if (failures > 0) throw new Error(`${failures} requests failed or were refused: ${JSON.stringify(r.statuses)}`);
  // The gateway's main thread: the isolate whose heap is the largest (the store threads' are small).
  const main = scavenges.reduce((a, b) => (b.heapMb > a.heapMb ? b : a), scavenges[0] ?? { isolate: '', heapMb: 0, pauseMs: 0, promotedMb: 0 }).isolate;
  const own = scavenges.filter((s) => s.isolate === main);
  const pauses = own.map((s) => s.pauseMs);
  const mean = pauses.reduce((a, b) => a + b, 0) / Math.max(1, pauses.length);
  const text =
    `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, max ${r.maxMs.toFixed(1)} ms; ` +
    `CPU ${cpuPerRequest.toFixed(1)} µs per request (${byThread}; ${((cpuPerRequest * rate) / 1e4).toFixed(0)} % of its CPU busy); ` +
    `main thread runnable but waiting for the CPU ${waitedMs.toFixed(0)} ms; ` +
    `${own.length} scavenges (mean ${mean.toFixed(1)} ms, longest ${Math.max(0, ...pauses).toFixed(1)} ms, ${pauses.filter((p) => p > 10).length} over 10 ms); ` +
    `${own.reduce((a, s) => a + s.promotedMb, 0).toFixed(1)} MB promoted to the old generation; heap after them ${own[0]?.heapMb.toFixed(0) ?? '?'} → ${own.at(-1)?.heapMb.toFixed(0) ?? '?'} MB`;
  return { text, p99Ms: r.p99Ms, cpuPerRequest };
}

async function matchedRun(i: number, rate: number): Promise<void> {
  const floor = await run(true, rate);
  console.log(`bare undici proxy, ${rate} req/s, run ${i}: ${floor.text}`);
  const gatehouse = await run(false, rate);
  console.log(`Gatehouse, ${args.keys} keys, config ${args.config}, ${rate} req/s, run ${i}: ${gatehouse.text}`);
  const matchedRate = Math.round((rate * gatehouse.cpuPerRequest) / floor.cpuPerRequest);
  const matched = await run(true, matchedRate);
  console.log(`bare undici proxy, ${matchedRate} req/s (its CPU as busy as Gatehouse's), run ${i}: ${matched.text}`);
  console.log(
    `run ${i}: Gatehouse's p99 is ${(gatehouse.p99Ms - floor.p99Ms).toFixed(2)} ms above the bare proxy's at ${rate} req/s; ` +
      `at the same CPU load the bare proxy's own p99 rose by ${(matched.p99Ms - floor.p99Ms).toFixed(2)} ms, ` +
      `which leaves ${(gatehouse.p99Ms - matched.p99Ms).toFixed(2)} ms that are not its cost per request\n`,
  );
}

try {
  const rate = Number(args.rate);
  const what = args.bare ? 'bare undici proxy' : `Gatehouse, ${args.keys} keys, config ${args.config}`;
  for (let i = 1; i <= Number(args.runs); i++)
    if (args.matched) await matchedRun(i, rate);
    else console.log(`${what}, ${rate} req/s for ${args.seconds} s, run ${i}: ${(await run(args.bare, rate)).text}`);
} finally {
  killAll();
}
