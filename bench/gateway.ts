/**
 * Gateway overhead benchmark: Gatehouse against a bare Node proxy (node:http + undici Pool.stream) in
 * front of the same upstream, on loopback, each in its own process.
 * `npm run bench:gateway`; `npm run bench` is the side-by-side one (bench/side-by-side.ts), which shares
 * bench/lib/ (children, load generators, /proc readings, pinning) with it.
 *
 *   node bench/gateway.ts [--rounds 5] [--duration 6] [--rate 2000] [--connections 50]
 *                         [--scenarios public,apiKey,bearer,bearer-nocache,apiKey+bearer]
 *                         [--load-generator wrk|autocannon] [--no-pin] [--profile] [--metrics on|off|both | --no-metrics]
 *                         [--observability on|off|both] [--keys 10000] [--workers 1,2]
 *                         [--stored-keys 1000,1000000] [--routes 1,10000] [--config '{"cache":{"keyTtlSeconds":3600}}']
 *                         [--node-flags=--max-semi-space-size=16]
 *
 * Scenarios (each a Gatehouse of its own, measured in the same run as the bare proxy): `apiKey` (an API
 * key), `bearer` (an ES256 JWT access token, verified-token cache on), `bearer-nocache` (the same with the
 * cache off: a signature check per request), `apiKey+bearer` (both, on a route that requires both).
 * `--metrics both` runs each scenario twice, with Prometheus metrics on (the default) and off
 * (`metrics.enabled: false`, no request observer at all), in the same rounds, and compares the two;
 * `--no-metrics` (or `--metrics off`) runs only the Gatehouse without metrics. `--observability both`
 * does the same with metrics, the request log and usage analytics all off against all on.
 * `--keys N` (apiKey scenario, wrk) creates N keys and each request takes the next one, so all N are
 * active: usage, analytics and the request log have N keys' worth to count and write every flush.
 * `--workers 1,2` runs each scenario once per gateway.workers value, in the same rounds; a Gatehouse
 * with more than one worker is not pinned (it needs every core, which it then shares with the
 * upstream and the load generator: its figures are what the machine gives, say so with them).
 * `--stored-keys 1000,1000000` runs a Gatehouse per count, each with that many keys in its store of which
 * --keys are presented (the rest written straight into the table, bench/lib/bulk-store.ts); `--routes
 * 1,10000` one per count of APIs in its route table (all below /bench, so under one first segment). Both are
 * issue 14's "flat cost": CPU per request should not grow with either. Every Gatehouse's peak RSS over
 * the max-throughput run is reported beside the bare proxy's (issue 14's memory target). `--config` is
 * configuration over the defaults for every Gatehouse, as the YAML file would hold it; `--node-flags`,
 * Node options for every Gatehouse process after those it runs with (GATEHOUSE_NODE_FLAGS; the bare proxy runs without).
 *
 * First each proxy gets an initial warm-up (with --keys above 1, each key presented once, so all are hot;
 * with workers, again over fresh connections until each worker has most likely seen every key;
 * then --initial-warmup seconds: JIT, heap sizing, connection pools), then per round, bare proxy first, then Gatehouse:
 *   1. warm-up (wrk, or autocannon when wrk is not on PATH),
 *   2. max throughput: closed loop, --connections connections for --duration seconds; the proxy's CPU
 *      time (user + system, all threads, from process.cpuUsage() over IPC) over the requests completed
 *      gives CPU µs per request,
 *   3. fixed offered load: open loop at --rate req/s (bench/open-loop-child.ts) for p50/p99 latency.
 * Reports medians over the rounds and gateway/bare ratios; fails (exit 1) if any request through either
 * proxy errored or was answered with a 4xx/5xx (wrk's count; the open-loop run counts every non-2xx),
 * or if Gatehouse counted any outcome other than FORWARDED (no denial of any kind; the upstream only
 * ever answers 200, so every gateway answer was a 2xx). Writes the table to bench/results/latest.md too.
 * --profile adds, after the measured rounds, one max-throughput run per proxy with the V8 profiler on
 * (not counted in the figures): bench/results/profiles/{bare,gatehouse}.cpuprofile, plus a .json with the
 * requests served, for bench/profile-top.ts to turn into µs per request.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  cpuSpent,
  cpuTime,
  GATEHOUSE_ENV,
  GATEHOUSE_NODE_FLAGS,
  killAll,
  nextMessage,
  startChild as startChildOn,
  stopChild,
  total,
  type Child,
} from './lib/children.ts';
import {
  BenchFailure,
  closedLoop as closedLoopWith,
  openLoop as openLoopWith,
  OPEN_LOOP_WARMUP_MS,
  pickGenerator,
  initialWarmUp,
  loadOf,
  type Generator,
  type Load,
  type ReadyLoad,
} from './lib/load.ts';
import { machineStat, sampleRss } from './lib/machine.ts';
import { pinning, type Pinning } from './lib/pinning.ts';
import { median } from './lib/stats.ts';

const here = dirname(fileURLToPath(import.meta.url));

const { values: args } = parseArgs({
  // --no-metrics is --metrics off (allowNegative covers boolean options only).
  args: process.argv.slice(2).map((a) => (a === '--no-metrics' ? '--metrics=off' : a)),
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '1' },
    'initial-warmup': { type: 'string', default: '4' },
    rate: { type: 'string', default: '2000' },
    'rate-duration': { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    scenarios: { type: 'string', default: 'apiKey' },
    'load-generator': { type: 'string' },
    profile: { type: 'boolean', default: false },
    pin: { type: 'boolean', default: true },
    metrics: { type: 'string', default: 'on' },
    observability: { type: 'string', default: 'on' },
    keys: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
    'node-flags': { type: 'string', default: '' },
    'stored-keys': { type: 'string', default: '0' },
    routes: { type: 'string', default: '1' },
    // Configuration over the defaults for every Gatehouse, as JSON (`{"cache":{"keyTtlSeconds":3600}}`).
    config: { type: 'string', default: '{}' },
  },
  allowNegative: true,
});
const ROUNDS = Number(args.rounds);
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const INITIAL_WARMUP_S = Number(args['initial-warmup']);
const RATE = Number(args.rate);
const RATE_DURATION_S = Number(args['rate-duration']);
const CONNECTIONS = Number(args.connections);
const KEYS = Number(args.keys);
const OPEN_LOOP_CONNECTIONS = 32;
const PROFILE_DIR = join(here, 'results', 'profiles');
const SCENARIO_TITLES: Record<string, string> = {
  public: 'public route (no credential checked)',
  apiKey: 'API key',
  bearer: 'bearer JWT (ES256), verified-token cache on',
  'bearer-nocache': 'bearer JWT (ES256), verified-token cache off',
  'apiKey+bearer': 'API key and bearer JWT (ES256) on one route',
};

/**
 * CPU pinning (bench/lib/pinning.ts; --no-pin turns it off): the proxy under test on the last CPU, the
 * upstream and the load generators on the others.
 */
const pin = pinning(args.pin);
const PIN = pin.enabled;
const PROXY_CPUS = pin.targetCpus;
const LOAD_CPUS = pin.loadCpus;
/** bench/lib/children.ts startChild with this run's pinning. */
const startChild = <T extends { url: string }>(...rest: Parameters<typeof startChildOn> extends [Pinning, ...infer R] ? R : never) =>
  startChildOn<T>(pin, ...rest);
const closedLoop = (generator: Generator, url: string, load: Load, seconds: number) =>
  closedLoopWith({ generator, connections: CONNECTIONS, pin }, url, load, seconds);
const openLoop = (url: string, path: string, load: Load) =>
  openLoopWith({ pin, rate: RATE, durationS: RATE_DURATION_S, connections: OPEN_LOOP_CONNECTIONS }, url, path, load);

// ---------------------------------------------------------------------------------------------- measure

interface Sample {
  throughput: number;
  cpuPerReq: number;
  /** CPU time on the machine during the max-throughput run that was not the benchmark's, in CPUs (0.1 = 10 % of one). */
  otherWork: number;
  /** The part of cpuPerReq spent in the kernel (system time). */
  systemCpuPerReq: number;
  upstreamCpuPerReq: number;
  cpuPerReqAtRate: number;
  achievedRate: number;
  p50: number;
  p99: number;
  generatorDelayP99: number;
  /** Peak RSS of the proxy's process tree over the max-throughput run (MB). */
  rssMb: number;
}

async function measure(generator: Generator, proxy: Child, upstream: Child, path: string, authorization: Load): Promise<Sample> {
  const url = `${proxy.url}${path}`;
  const warm = await closedLoop(generator, url, authorization, WARMUP_S);
  if (warm.failures > 0) throw new BenchFailure(`${proxy.name}: ${warm.failures} failed responses during warm-up (${warm.failureDetail})`);

  const [p0, u0, m0, self0, t0] = [await cpuTime(proxy), await cpuTime(upstream), machineStat(), process.cpuUsage(), performance.now()];
  const rss = sampleRss(proxy.proc.pid!);
  const max = await closedLoop(generator, url, authorization, DURATION_S);
  const rssMb = rss.stop() / 2 ** 20;
  const [p1, u1, m1, self1, t1] = [await cpuTime(proxy), await cpuTime(upstream), machineStat(), process.cpuUsage(), performance.now()];
  const proxyCpu = cpuSpent(p0, p1);
  const ours = total(proxyCpu) + total(cpuSpent(u0, u1)) + total(cpuSpent(self0, self1)) + (m0 && m1 ? m1.children - m0.children : 0);
  if (max.failures > 0) throw new BenchFailure(`${proxy.name}: ${max.failures} failed responses at max throughput (${max.failureDetail})`);

  const r0 = await cpuTime(proxy);
  const fixed = await openLoop(url, path, authorization);
  const r1 = await cpuTime(proxy);
  if (fixed.non2xx > 0 || fixed.errors > 0) {
    throw new BenchFailure(`${proxy.name}: at ${RATE} req/s, ${fixed.non2xx} non-2xx answers (${JSON.stringify(fixed.statuses)}) and ${fixed.errors} errors`);
  }
  return {
    throughput: max.requests / max.seconds,
    cpuPerReq: total(proxyCpu) / max.requests,
    otherWork: m0 && m1 ? Math.max(0, m1.busy - m0.busy - ours) / ((t1 - t0) * 1000) : NaN,
    systemCpuPerReq: proxyCpu.system / max.requests,
    upstreamCpuPerReq: total(cpuSpent(u0, u1)) / max.requests,
    // The open-loop child's warm-up is in this CPU interval as well, and in completedTotal.
    cpuPerReqAtRate: total(cpuSpent(r0, r1)) / fixed.completedTotal,
    achievedRate: fixed.achievedRate,
    p50: fixed.p50Ms,
    p99: fixed.p99Ms,
    generatorDelayP99: fixed.generatorLoopDelayP99Ms,
    rssMb,
  };
}

/** One more max-throughput run, outside the measured ones, with the V8 profiler on in the proxy. */
async function profileRun(generator: Generator, proxy: Child, name: string, path: string, authorization: Load): Promise<void> {
  mkdirSync(PROFILE_DIR, { recursive: true });
  const file = join(PROFILE_DIR, `${name}.cpuprofile`);
  const started = nextMessage(proxy.proc, 'profile-started');
  proxy.proc.send({ type: 'profile-start' });
  await started;
  const c0 = await cpuTime(proxy);
  const run = await closedLoop(generator, `${proxy.url}${path}`, authorization, DURATION_S);
  const spent = total(cpuSpent(c0, await cpuTime(proxy)));
  const stopped = nextMessage(proxy.proc, 'profile-stopped');
  proxy.proc.send({ type: 'profile-stop', file });
  await stopped;
  if (run.failures > 0) throw new BenchFailure(`${proxy.name}: ${run.failures} failed responses in the profiling run (${run.failureDetail})`);
  writeFileSync(file.replace(/\.cpuprofile$/, '.json'), JSON.stringify({ requests: run.requests, seconds: run.seconds, cpuMicros: spent }));
  console.error(`benchmark: profiled ${proxy.name}: ${run.requests} requests, ${(spent / run.requests).toFixed(1)} µs CPU/req with the profiler on → ${file}`);
}

// ---------------------------------------------------------------------------------------------- report

/** A Gatehouse as usual (`on`), without Prometheus metrics, or without metrics, request log and usage analytics. */
type Mode = 'on' | 'metrics-off' | 'observability-off';
/** --config with this run's gateway.workers merged into its `gateway` section. */
function withWorkers(config: Record<string, unknown>, workers: number): Record<string, unknown> {
  return { ...config, gateway: { ...(config.gateway as Record<string, unknown> | undefined), workers } };
}

const MODE_SUFFIX: Record<Mode, string> = { on: '', 'metrics-off': ' (metrics off)', 'observability-off': ' (observability off)' };
const MODE_WHAT: Record<Exclude<Mode, 'on'>, string> = { 'metrics-off': 'metrics', 'observability-off': 'metrics, request log and usage analytics' };

/**
 * On against off, for one scenario: both Gatehouses ran in the same rounds, each round's two runs
 * adjacent in time, so the per-round ratio is the fairest figure; the ratio of the medians is beside it.
 */
function comparison(scenario: string, mode: Exclude<Mode, 'on'>, on: Sample[], off: Sample[]): string {
  const col = (samples: Sample[], f: (s: Sample) => number) => median(samples.map(f));
  const cpuRatio = col(on, (s) => s.cpuPerReq) / col(off, (s) => s.cpuPerReq);
  const perRound = median(on.map((s, i) => s.cpuPerReq / off[i]!.cpuPerReq));
  const lines = [
    `## ${MODE_WHAT[mode][0]!.toUpperCase()}${MODE_WHAT[mode].slice(1)} on against off: ${SCENARIO_TITLES[scenario] ?? scenario}${KEYS > 1 ? `, ${KEYS} active keys` : ''}`,
    '',
    '| | on | off | on / off |',
    '| --- | ---: | ---: | ---: |',
    `| Proxy CPU per request at max throughput (µs) | ${col(on, (s) => s.cpuPerReq).toFixed(1)} | ${col(off, (s) => s.cpuPerReq).toFixed(1)} | ${cpuRatio.toFixed(3)}× |`,
    `| Proxy CPU per request at ${RATE} req/s (µs) | ${col(on, (s) => s.cpuPerReqAtRate).toFixed(1)} | ${col(off, (s) => s.cpuPerReqAtRate).toFixed(1)} | ${(col(on, (s) => s.cpuPerReqAtRate) / col(off, (s) => s.cpuPerReqAtRate)).toFixed(3)}× |`,
    `| Max throughput (req/s) | ${col(on, (s) => s.throughput).toFixed(0)} | ${col(off, (s) => s.throughput).toFixed(0)} | ${(col(on, (s) => s.throughput) / col(off, (s) => s.throughput)).toFixed(3)}× |`,
    `| p50 at ${RATE} req/s (ms) | ${col(on, (s) => s.p50).toFixed(3)} | ${col(off, (s) => s.p50).toFixed(3)} | ${(col(on, (s) => s.p50) - col(off, (s) => s.p50)).toFixed(3)} ms |`,
    `| p99 at ${RATE} req/s (ms) | ${col(on, (s) => s.p99).toFixed(3)} | ${col(off, (s) => s.p99).toFixed(3)} | ${(col(on, (s) => s.p99) - col(off, (s) => s.p99)).toFixed(3)} ms |`,
    '',
    `Median of the per-round CPU ratios (on / off): **${perRound.toFixed(3)}×**. Per round, CPU µs/req on / off: ${on.map((s, i) => `${s.cpuPerReq.toFixed(1)} / ${off[i]!.cpuPerReq.toFixed(1)}`).join(', ')}.`,
    '',
  ];
  return lines.join('\n');
}

function report(
  generator: Generator,
  scenario: string,
  bare: Sample[],
  gateway: Sample[],
  wallSeconds: number,
  loadAtStart: number,
): { markdown: string; ratio: number; noisy: boolean } {
  const col = (samples: Sample[], f: (s: Sample) => number) => median(samples.map(f));
  const rows: [string, (s: Sample) => number, number, boolean][] = [
    // label, field, decimals, show ratio
    ['Max throughput (req/s)', (s) => s.throughput, 0, true],
    ['**Proxy CPU per request at max throughput (µs)**', (s) => s.cpuPerReq, 1, true],
    ['… of which kernel (system time) (µs)', (s) => s.systemCpuPerReq, 1, true],
    [`Proxy CPU per request at ${RATE} req/s (µs)`, (s) => s.cpuPerReqAtRate, 1, true],
    [`p50 latency at ${RATE} req/s (ms)`, (s) => s.p50, 3, true],
    [`p99 latency at ${RATE} req/s (ms)`, (s) => s.p99, 3, true],
    [`Achieved rate of the ${RATE} req/s run (req/s)`, (s) => s.achievedRate, 0, false],
    ['Upstream CPU per request at max throughput (µs, control)', (s) => s.upstreamCpuPerReq, 1, false],
    [`Open-loop generator's own event-loop delay p99 (ms, control)`, (s) => s.generatorDelayP99, 1, false],
    ['Peak RSS over the max-throughput run (MB; the last column: Gatehouse − bare)', (s) => s.rssMb, 0, false],
  ];
  // The headline is the ratio of the medians: a burst of other work on the machine inflates one run, and
  // the median of each side ignores it. The median of the per-round ratios (each round's two runs are
  // adjacent in time) is shown beside it; when the two disagree much, the run was noisy.
  const ratio = col(gateway, (s) => s.cpuPerReq) / col(bare, (s) => s.cpuPerReq);
  const medianOfRatios = median(gateway.map((g, i) => g.cpuPerReq / bare[i]!.cpuPerReq));
  // Disturbances (here: mostly from outside the VM, which the other-work column cannot see) only ever
  // made a run slower, so the fastest rounds are a third estimate; a wide spread means a noisy run.
  const best = (samples: Sample[]) => Math.min(...samples.map((s) => s.cpuPerReq));
  const ratioOfBest = best(gateway) / best(bare);
  // Spread without the extreme rounds (with 4+ rounds): one disturbed round does not make a run noisy.
  const spread = (samples: Sample[]) => {
    const v = samples.map((s) => s.cpuPerReq).sort((a, b) => a - b);
    const [lo, hi] = v.length >= 4 ? [v[1]!, v[v.length - 2]!] : [v[0]!, v[v.length - 1]!];
    return (hi - lo) / median(v);
  };
  const noisy = spread(bare) > 0.2 || spread(gateway) > 0.2;
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const lines: string[] = [];
  const base = scenario.replace(/ \(\w+ off\)$/, '');
  lines.push(
    `## Gateway benchmark, ${new Date().toISOString().slice(0, 10)}: ${SCENARIO_TITLES[base] ?? base}${scenario.slice(base.length)}${KEYS > 1 ? `, ${KEYS} active keys (each request the next key)` : ''}`,
  );
  lines.push('');
  lines.push(
    `Node ${process.version}, ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform}; load generator ${generator === 'wrk' ? 'wrk (-t1)' : 'autocannon'} ` +
      `with ${CONNECTIONS} connections for ${DURATION_S} s after a ${WARMUP_S} s warm-up (and a first one of ${INITIAL_WARMUP_S} s); open-loop ${RATE} req/s for ${RATE_DURATION_S} s over ${OPEN_LOOP_CONNECTIONS} connections after a ${OPEN_LOOP_WARMUP_MS / 1000} s warm-up; ` +
      `${PIN ? `proxy under test pinned to CPU ${PROXY_CPUS}, upstream and load generators to CPU ${LOAD_CPUS}` : 'no CPU pinning'}; ` +
      `median of ${ROUNDS} rounds (bare, gateway alternating); 1-minute load average ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end; run took ${wallSeconds.toFixed(0)} s.`,
  );
  lines.push('');
  lines.push('| | bare proxy | Gatehouse | gateway / bare |');
  lines.push('| --- | ---: | ---: | ---: |');
  for (const [label, f, decimals, showRatio] of rows) {
    const b = col(bare, f);
    const g = col(gateway, f);
    const last = showRatio ? `${(g / b).toFixed(2)}×` : label.startsWith('Peak RSS') ? `+${(g - b).toFixed(0)} MB` : '';
    lines.push(`| ${label} | ${b.toFixed(decimals)} | ${g.toFixed(decimals)} | ${last} |`);
  }
  lines.push('');
  lines.push(
    `Target: Gatehouse CPU per request at max throughput at most 1.30× the bare proxy's. Measured (ratio of the medians): **${ratio.toFixed(2)}×** ` +
      `(median of the per-round ratios ${medianOfRatios.toFixed(2)}×, ratio of the fastest rounds ${ratioOfBest.toFixed(2)}×), ${ratio <= 1.3 ? 'within target' : 'ABOVE target'}.`,
  );
  lines.push('');
  lines.push(
    `Spread of CPU per request across rounds (second highest − second lowest, of the median): bare ${(100 * spread(bare)).toFixed(0)} %, Gatehouse ${(100 * spread(gateway)).toFixed(0)} %.` +
      (noisy ? ' **NOISY RUN**: above 20 %, something else slowed some rounds down; run it again on a quieter machine before trusting the ratio.' : ''),
  );
  lines.push('');
  lines.push(
    'Per round: max-throughput req/s, CPU µs/req, p50/p99 ms at the fixed rate, and [other work on the machine during the ' +
      'max-throughput run, in % of one CPU: other processes, plus network softirq work the kernel charges to no process; a run with ' +
      'much more than its neighbours was disturbed]:',
  );
  lines.push('');
  lines.push('| round | bare | Gatehouse | CPU ratio |');
  lines.push('| ---: | --- | --- | ---: |');
  const other = (s: Sample) => (Number.isNaN(s.otherWork) ? '' : ` [${(100 * s.otherWork).toFixed(0)} %]`);
  const fmt = (s: Sample) => `${s.throughput.toFixed(0)} req/s, ${s.cpuPerReq.toFixed(1)} µs, ${s.p50.toFixed(3)}/${s.p99.toFixed(3)} ms${other(s)}`;
  for (let i = 0; i < bare.length; i++)
    lines.push(`| ${i + 1} | ${fmt(bare[i]!)} | ${fmt(gateway[i]!)} | ${(gateway[i]!.cpuPerReq / bare[i]!.cpuPerReq).toFixed(2)}× |`);
  return { markdown: lines.join('\n') + '\n', ratio, noisy };
}

// ---------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const t0 = performance.now();
  const loadAtStart = loadavg()[0]!;
  const watchdog = setTimeout(() => {
    console.error('benchmark: watchdog expired (30 minutes); stopping');
    process.exit(2);
  }, 1_800_000);
  watchdog.unref();

  const generator = pickGenerator(args['load-generator']);
  const scenarios = args.scenarios
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const scenario of scenarios)
    if (!SCENARIO_TITLES[scenario]) throw new BenchFailure(`unknown scenario ${scenario}; use ${Object.keys(SCENARIO_TITLES).join(', ')}`);
  const upstream = await startChild('upstream', 'upstream-child.ts', [], LOAD_CPUS);
  const bare = await startChild('bare proxy', 'bare-proxy-child.ts', [upstream.url], PROXY_CPUS);
  const flag = (name: 'metrics' | 'observability'): string => {
    const value = args[name];
    if (value !== 'on' && value !== 'off' && value !== 'both') throw new BenchFailure(`--${name} takes on, off or both, not ${value}`);
    return value;
  };
  const [metrics, observability] = [flag('metrics'), flag('observability')];
  const modes: Mode[] = [
    ...(metrics !== 'off' && observability !== 'off' ? (['on'] as const) : []),
    ...(metrics !== 'on' ? (['metrics-off'] as const) : []),
    ...(observability !== 'on' ? (['observability-off'] as const) : []),
  ];
  if (KEYS > 1 && scenarios.some((s) => s !== 'apiKey')) throw new BenchFailure('--keys above 1 takes the apiKey scenario only');
  // `scenario` names a Gatehouse under test: the scenario, and its mode's suffix (" (metrics off)").
  const gateways: (Child & { path: string; headerSets: Load; scenario: string; workers: number })[] = [];
  const counts = (name: 'workers' | 'stored-keys' | 'routes', min: number) => {
    const list = args[name].split(',').map(Number);
    if (list.some((n) => !Number.isInteger(n) || n < min)) throw new BenchFailure(`--${name} takes counts such as 1,2, not ${args[name]}`);
    return list;
  };
  const [workerCounts, storedCounts, routeCounts] = [counts('workers', 1), counts('stored-keys', 0), counts('routes', 1)];
  for (const base of scenarios) {
    for (const mode of modes) {
      for (const workers of workerCounts) {
        for (const storedKeys of storedCounts) {
          for (const routes of routeCounts) {
            const scenario =
              `${base}${MODE_SUFFIX[mode]}${workers > 1 ? ` (${workers} workers)` : ''}` +
              `${storedKeys > KEYS ? ` (${storedKeys} stored keys)` : ''}${routes > 1 ? ` (${routes} routes)` : ''}`;
            const child = await startChild<{ url: string; path: string } & ReadyLoad>(
              `Gatehouse ${scenario}`,
              'gatehouse-child.ts',
              [
                upstream.url,
                base,
                mode,
                String(KEYS),
                JSON.stringify(withWorkers(JSON.parse(args.config) as Record<string, unknown>, workers)),
                JSON.stringify({ storedKeys, routes }),
              ],
              workers > 1 ? `0-${cpus().length - 1}` : PROXY_CPUS,
              [...GATEHOUSE_NODE_FLAGS, ...args['node-flags'].split(' ').filter(Boolean)],
              GATEHOUSE_ENV,
            );
            gateways.push({ ...child, headerSets: loadOf(child), scenario, workers });
          }
        }
      }
    }
  }
  console.error(
    `benchmark: upstream ${upstream.url}, bare proxy ${bare.url}, ${gateways.map((g) => `${g.name} ${g.url}`).join(', ')}; load generator ${generator}; ${ROUNDS} rounds; ${PIN ? `proxies pinned to CPU ${PROXY_CPUS}, upstream and load to ${LOAD_CPUS}` : 'no CPU pinning'}`,
  );

  for (const proxy of [bare, ...gateways]) {
    const target = gateways.find((g) => g === proxy) ?? gateways[0]!;
    const workers = proxy === bare ? 1 : target.workers;
    await initialWarmUp({ generator, connections: CONNECTIONS, pin }, proxy.name, `${proxy.url}${target.path}`, target.headerSets, INITIAL_WARMUP_S, workers);
  }

  const bareSamples: Sample[] = [];
  const gatewaySamples = new Map<string, Sample[]>(gateways.map((g) => [g.scenario, []]));
  const line = (name: string, s: Sample) =>
    `${name}: ${s.throughput.toFixed(0)} req/s, ${s.cpuPerReq.toFixed(1)} µs CPU/req, p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms at ${RATE} req/s; other work ${(100 * s.otherWork).toFixed(0)} % of a CPU`;
  for (let round = 1; round <= ROUNDS; round++) {
    const b = await measure(generator, bare, upstream, gateways[0]!.path, gateways[0]!.headerSets);
    bareSamples.push(b);
    console.error(`round ${round} ${line('bare', b)}`);
    // With several Gatehouses (scenarios, metrics on and off), each goes first in turn: none always
    // runs right after the bare proxy, so an order effect does not land on one side of a comparison.
    const order = gateways.map((_, i) => gateways[(i + round - 1) % gateways.length]!);
    for (const gateway of order) {
      const g = await measure(generator, gateway, upstream, gateway.path, gateway.headerSets);
      gatewaySamples.get(gateway.scenario)!.push(g);
      console.error(`round ${round} ${line(gateway.name, g)}`);
    }
  }

  if (args.profile) {
    await profileRun(generator, bare, 'bare', gateways[0]!.path, gateways[0]!.headerSets);
    for (const gateway of gateways)
      await profileRun(generator, gateway, `gatehouse-${gateway.scenario.replace(/ \((\w+) off\)$/, '-$1-off')}`, gateway.path, gateway.headerSets);
  }

  // Every request each Gatehouse saw must have been forwarded: no denial of any kind.
  let forwarded = 0;
  for (const gateway of gateways) {
    const reply = nextMessage<{ outcomes: Record<string, number> }>(gateway.proc, 'outcomes');
    gateway.proc.send({ type: 'outcomes' });
    const { outcomes } = await reply;
    const refused = Object.entries(outcomes).filter(([code]) => code !== 'FORWARDED');
    if (refused.length > 0) throw new BenchFailure(`${gateway.name} refused requests: ${JSON.stringify(outcomes)}`);
    forwarded += outcomes.FORWARDED ?? 0;
  }

  await Promise.all([...gateways.map((g) => stopChild(g.proc)), stopChild(bare.proc), stopChild(upstream.proc)]);
  const wall = (performance.now() - t0) / 1000;
  const reports = gateways.map((g) => report(generator, g.scenario, bareSamples, gatewaySamples.get(g.scenario)!, wall, loadAtStart));
  const comparisons = modes.includes('on')
    ? modes
        .filter((mode) => mode !== 'on')
        .flatMap((mode) => scenarios.map((base) => comparison(base, mode, gatewaySamples.get(base)!, gatewaySamples.get(`${base}${MODE_SUFFIX[mode]}`)!)))
    : [];
  const markdown = [...reports.map((r) => r.markdown), ...comparisons].join('\n');
  process.stdout.write(markdown);
  const out = join(here, 'results', 'latest.md');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, markdown);
  console.error(`benchmark: Gatehouse forwarded ${forwarded} requests, refused none; written to ${out}`);
  if (reports.some((r) => r.noisy))
    console.error('benchmark: NOISY RUN (CPU per request varied by more than 20 % across rounds); run it again on a quieter machine');
  if (args.profile) console.error('benchmark: summarise the profiles with node bench/profile-top.ts [bench/results/profiles/bare.cpuprofile]');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof BenchFailure ? `BENCHMARK FAILED: ${error.message}` : error);
    killAll();
    process.exit(1);
  },
);
