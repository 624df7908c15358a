/**
 * Side-by-side benchmark (issue 14, "The harness"; `npm run bench`): Gatehouse against the upstream
 * alone, a bare Node undici proxy (sent the plain request, and once more sent the bearer target's, so
 * each ratio can be read against a proxy that parsed the same bytes), nginx and HAProxy (plain, and with keys from a map file, a rate limit
 * per key, identity headers set and the credential dropped) and fast-gateway, all in front of one shared
 * upstream, on loopback, in interleaved rounds.
 *
 *   node bench/side-by-side.ts [--rounds 5] [--duration 5] [--rate 2000] [--rate-duration 4]
 *                              [--connections 50] [--keys 1] [--targets id,id,...|every-core] [--no-pin] [--no-docs]
 *   node bench/side-by-side.ts --quick     # 1 round of 2 s each: to try it; writes bench/results/ only
 *   node bench/side-by-side.ts --check     # starts every target, checks them, measures nothing
 *
 * Per target and round: a warm-up, then max throughput (wrk -c50, closed loop) with the target's CPU time
 * (utime + stime from /proc of its whole process tree: all threads, nginx's master and worker) over the
 * requests completed = CPU µs per request; then a fixed offered load (open loop, bench/open-loop-child.ts)
 * for p50/p99; its RSS sampled throughout (peak, whole tree); the 1-minute load average and the CPU time
 * of other work on the machine during the max-throughput run. Each round starts one target later in the
 * list, so none is always measured right after the same neighbour.
 *
 * Honesty: the run fails (exit 1) on any failed or non-2xx request through any target (wrk's count, the
 * open-loop count), if a Gatehouse counted any outcome other than FORWARDED, or if the equal-features
 * configs do not do what they claim (checked once per run, before measuring: a wrong or missing key is
 * refused with 401/403, a burst over a key's limit gets 429, the upstream sees identity headers and no
 * credential). Open-loop requests still unanswered 10 s after the last was issued are not failures: the
 * target was saturated at the fixed rate (on a busy host), and the report marks its latencies so.
 *
 * Writes bench/results/side-by-side.{md,svg,json}, and with 5 rounds or more (unless --no-docs) replaces
 * the marked section of docs/benchmarks.md and docs/benchmarks-side-by-side.svg, unless the CPU per
 * request of a target with a verdict (or of its baseline) moved by more than 20 % between rounds (a
 * disturbed host: its ratios would mislead).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Scenario } from './seed.ts';
import { barChartSvg } from './lib/chart.ts';
import { killAll, nextMessage, startChild, stopChild, type Child } from './lib/children.ts';
import { CHECK_KEY_LIMIT, startExternal, type ExternalKind, type MappedKey } from './lib/external-proxies.ts';
import { BenchFailure, closedLoop, initialWarmUp, loadOf, openLoop, OPEN_LOOP_WARMUP_MS, pickGenerator, type Load, type ReadyLoad } from './lib/load.ts';
import { machineStat, sampleRss, treeCpuMicros } from './lib/machine.ts';
import { ALL_CPUS, pinning } from './lib/pinning.ts';
import { median } from './lib/stats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    'initial-warmup': { type: 'string', default: '3' },
    rate: { type: 'string', default: '2000' },
    'rate-duration': { type: 'string', default: '4' },
    connections: { type: 'string', default: '50' },
    keys: { type: 'string', default: '1' },
    targets: { type: 'string' },
    'load-generator': { type: 'string' },
    pin: { type: 'boolean', default: true },
    docs: { type: 'boolean', default: true },
    quick: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
  },
  allowNegative: true,
});
// --quick: one short round of everything, to try the harness (figures not for keeping).
if (args.quick) Object.assign(args, { rounds: '1', duration: '2', warmup: '1', 'initial-warmup': '1', 'rate-duration': '2' });
const ROUNDS = Number(args.rounds);
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const INITIAL_WARMUP_S = Number(args['initial-warmup']);
const RATE = Number(args.rate);
const RATE_DURATION_S = Number(args['rate-duration']);
const CONNECTIONS = Number(args.connections);
const KEYS = Number(args.keys);
const OPEN_LOOP_CONNECTIONS = 32;
/** Below the listen path /bench of every target (fast-gateway routes /bench/* only). */
const PATH = '/bench/orders/1';
const pin = pinning(args.pin);
const generator = pickGenerator(args['load-generator']);
const closed = { generator, connections: CONNECTIONS, pin };
const open = { pin, rate: RATE, durationS: RATE_DURATION_S, connections: OPEN_LOOP_CONNECTIONS };

// ---------------------------------------------------------------------------------------------- targets

type TargetSpec = { id: string; title: string; group: 'baseline' | 'other' | 'gatehouse' } & (
  | { kind: 'upstream' }
  | {
      kind: 'node';
      script: string;
      /** Sent the requests of this other target (its credential headers), not the plain ones: the same bytes to parse. */
      sameRequestAs?: string;
    }
  | { kind: ExternalKind; withKeys: boolean; /** Worker processes (nginx) or threads (HAProxy); 2 or more: not pinned. */ workers?: number }
  | {
      kind: 'gatehouse';
      scenario: Scenario;
      /** Configuration over the bench defaults, as in the YAML file (seed.ts `config`). */
      config?: Record<string, unknown>;
      /** 'all': the target spreads over every CPU itself (gateway.workers), so it is not pinned to one. */
      cpus?: 'all';
    }
);

const TARGETS: TargetSpec[] = [
  { id: 'upstream', title: 'upstream directly (no proxy)', group: 'baseline', kind: 'upstream' },
  { id: 'bare', title: 'bare undici proxy (Node)', group: 'baseline', kind: 'node', script: 'bare-proxy-child.ts' },
  // A bearer request carries a JWT of some 700 bytes where the plain one carries a 60-byte key: the bare proxy
  // parses and forwards it too, so the bearer target's ratio is also read against this one (same request).
  {
    id: 'bare-bearer',
    title: 'bare undici proxy (Node), bearer request',
    group: 'baseline',
    kind: 'node',
    script: 'bare-proxy-child.ts',
    sameRequestAs: 'gatehouse-bearer',
  },
  { id: 'nginx', title: 'nginx, plain', group: 'other', kind: 'nginx', withKeys: false },
  { id: 'nginx-keys', title: 'nginx + key map + limit_req', group: 'other', kind: 'nginx', withKeys: true },
  { id: 'haproxy', title: 'HAProxy, plain', group: 'other', kind: 'haproxy', withKeys: false },
  { id: 'haproxy-keys', title: 'HAProxy + key map + stick-table limit', group: 'other', kind: 'haproxy', withKeys: true },
  { id: 'fast-gateway', title: 'fast-gateway 3.4.7, plain', group: 'other', kind: 'node', script: 'fast-gateway-child.ts' },
  { id: 'gatehouse-public', title: 'Gatehouse, public route', group: 'gatehouse', kind: 'gatehouse', scenario: 'public' },
  { id: 'gatehouse-apikey', title: 'Gatehouse, apiKey + limits + usage', group: 'gatehouse', kind: 'gatehouse', scenario: 'apiKey' },
  { id: 'gatehouse-bearer', title: 'Gatehouse, bearer ES256, cache on', group: 'gatehouse', kind: 'gatehouse', scenario: 'bearer' },
  { id: 'gatehouse-bearer-nocache', title: 'Gatehouse, bearer ES256, cache off', group: 'gatehouse', kind: 'gatehouse', scenario: 'bearer-nocache' },
  { id: 'gatehouse-apikey-bearer', title: 'Gatehouse, apiKey+bearer', group: 'gatehouse', kind: 'gatehouse', scenario: 'apiKey+bearer' },
  // Every core (issue 14): these spread over every CPU themselves, so they are not pinned to one; they share
  // the machine with the upstream and wrk, so their CPU per request includes that contention and their
  // req/s is what the whole machine gives them. Compare them with each other (--targets every-core).
  { id: 'nginx-keys-workers2', title: 'nginx + keys, 2 workers', group: 'other', kind: 'nginx', withKeys: true, workers: 2 },
  {
    id: 'gatehouse-apikey-workers1-all',
    title: 'Gatehouse, apiKey, 1 worker, unpinned',
    group: 'gatehouse',
    kind: 'gatehouse',
    scenario: 'apiKey',
    cpus: 'all',
  },
  {
    id: 'gatehouse-apikey-workers2',
    title: 'Gatehouse, apiKey, 2 workers',
    group: 'gatehouse',
    kind: 'gatehouse',
    scenario: 'apiKey',
    config: { gateway: { workers: 2 } },
    cpus: 'all',
  },
];

/** Names for sets of targets in --targets. */
const TARGET_SETS: Record<string, string[]> = {
  // Issue 14, "Every core": one worker against two, and against nginx with one and two workers.
  'every-core': ['bare', 'nginx-keys', 'nginx-keys-workers2', 'gatehouse-apikey', 'gatehouse-apikey-workers1-all', 'gatehouse-apikey-workers2'],
};

interface Target {
  spec: TargetSpec;
  child: Child;
  /** What its requests send: one header set, or one per key taken in turn. */
  load: Load;
}

/** Keys for nginx and HAProxy with keys: KEYS bench keys (limit far above the load) and one check key. */
function mappedKeys(): { bench: MappedKey[]; check: MappedKey } {
  const key = (i: number, limit: number): MappedKey => ({ secret: `gk_bench_${randomBytes(16).toString('hex')}`, appId: `app_${i}`, keyId: `key_${i}`, limit });
  return { bench: Array.from({ length: KEYS }, (_, i) => key(i, 1_000_000_000)), check: key(KEYS, CHECK_KEY_LIMIT) };
}

async function startTarget(spec: TargetSpec, upstream: Child, keys: { bench: MappedKey[]; check: MappedKey }, scratch: string): Promise<Target> {
  const plainLoad: Load = [{ authorization: `Bearer ${keys.bench[0]!.secret}` }];
  const keyLoad: Load = keys.bench.map((k) => ({ authorization: `Bearer ${k.secret}` }));
  const everyCore = (spec.kind === 'gatehouse' && spec.cpus === 'all') || ((spec.kind === 'nginx' || spec.kind === 'haproxy') && (spec.workers ?? 1) > 1);
  const cpuList = everyCore ? ALL_CPUS() : pin.targetCpus;
  switch (spec.kind) {
    case 'upstream':
      return { spec, child: upstream, load: plainLoad };
    case 'node':
      return { spec, child: await startChild(pin, spec.title, spec.script, [upstream.url], cpuList), load: plainLoad };
    case 'nginx':
    case 'haproxy': {
      const child = await startExternal({
        kind: spec.kind,
        name: spec.title,
        upstream: upstream.url,
        keys: spec.withKeys ? [...keys.bench, keys.check] : null,
        dir: join(scratch, spec.id),
        pin,
        cpuList,
        workers: spec.workers ?? 1,
      });
      return { spec, child, load: spec.withKeys ? keyLoad : plainLoad };
    }
    case 'gatehouse': {
      const child = await startChild<{ url: string } & ReadyLoad>(
        pin,
        spec.title,
        'gatehouse-child.ts',
        [upstream.url, spec.scenario, 'on', String(spec.scenario === 'apiKey' ? KEYS : 1), ...(spec.config ? [JSON.stringify(spec.config)] : [])],
        cpuList,
      );
      return { spec, child, load: loadOf(child) };
    }
  }
}

// ---------------------------------------------------------------------------------------------- checks

async function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.text() };
}

/**
 * What makes the comparison honest, checked once per run: every target answers 2xx; nginx and HAProxy with
 * keys refuse a wrong or missing key (401/403), answer a burst over a key's limit with 429, and forward
 * identity headers without the credential; every Gatehouse forwards without the credential too.
 */
async function checkTargets(targets: Target[], checkKey: MappedKey, benchKey: MappedKey): Promise<string[]> {
  const notes: string[] = [];
  for (const { spec, child, load } of targets) {
    const ok = await get(`${child.url}${PATH}`, load[0]!);
    if (ok.status < 200 || ok.status > 299) throw new BenchFailure(`${spec.title}: ${ok.status} for a benchmark request`);
    const keyed = (spec.kind === 'nginx' || spec.kind === 'haproxy') && spec.withKeys;
    if (spec.kind !== 'gatehouse' && !keyed) continue;
    const echo = await get(`${child.url}/bench/__echo`, load[0]!);
    if (echo.status !== 200) throw new BenchFailure(`${spec.title}: ${echo.status} for the echo request`);
    const seen = JSON.parse(echo.body) as Record<string, string>;
    if ('authorization' in seen || 'x-api-key' in seen) throw new BenchFailure(`${spec.title}: forwarded the credential to the upstream`);
    if (!keyed) {
      notes.push(`${spec.title}: credential not forwarded`);
      continue;
    }
    if (seen['x-gatehouse-app'] !== benchKey.appId || seen['x-gatehouse-key-id'] !== benchKey.keyId || !seen['x-forwarded-for'])
      throw new BenchFailure(`${spec.title}: identity headers not set as configured: ${JSON.stringify(seen)}`);
    const wrong = await get(`${child.url}${PATH}`, { authorization: `Bearer gk_bench_${'0'.repeat(32)}` });
    const missing = await get(`${child.url}${PATH}`, {});
    if (![401, 403].includes(wrong.status) || ![401, 403].includes(missing.status))
      throw new BenchFailure(`${spec.title}: a wrong key got ${wrong.status} and no key ${missing.status}, not 401/403`);
    const statuses: number[] = [];
    for (let i = 0; i < 3 * CHECK_KEY_LIMIT; i++) statuses.push((await get(`${child.url}${PATH}`, { authorization: `Bearer ${checkKey.secret}` })).status);
    if (statuses[0] !== 200 || !statuses.includes(429) || statuses.some((s) => s !== 200 && s !== 429))
      throw new BenchFailure(`${spec.title}: a burst over the key's limit of ${CHECK_KEY_LIMIT}/s got ${statuses.join(',')}, not 200s then 429s`);
    notes.push(
      `${spec.title}: wrong key ${wrong.status}, no key ${missing.status}, ${3 * CHECK_KEY_LIMIT} requests over a ${CHECK_KEY_LIMIT}/s limit: ` +
        `${statuses.filter((s) => s === 200).length} × 200, ${statuses.filter((s) => s === 429).length} × 429; identity headers set, credential dropped`,
    );
  }
  return notes;
}

// ---------------------------------------------------------------------------------------------- measure

interface Sample {
  throughput: number;
  cpuPerReq: number;
  p50: number;
  p99: number;
  achievedRate: number;
  /** Open-loop requests still unanswered 10 s after the last was issued: the target was saturated at the fixed rate. */
  unanswered: number;
  /** Peak RSS of the target's process tree during the round (bytes). */
  rss: number;
  /** 1-minute load average at the end of the max-throughput run. */
  load1: number;
  /** CPU time on the machine during the max-throughput run that was not the benchmark's, in CPUs. */
  otherWork: number;
}

async function measure(target: Target, upstream: Child): Promise<Sample> {
  const { spec, child, load } = target;
  const url = `${child.url}${PATH}`;
  const pid = child.proc.pid!;
  const warm = await closedLoop(closed, url, load, WARMUP_S);
  if (warm.failures > 0) throw new BenchFailure(`${spec.title}: ${warm.failures} failed responses during warm-up (${warm.failureDetail})`);
  const rss = sampleRss(pid);
  const upstreamPid = upstream.proc.pid!;
  const [c0, u0, m0, s0, t0] = [treeCpuMicros(pid), treeCpuMicros(upstreamPid), machineStat(), process.cpuUsage(), performance.now()];
  const max = await closedLoop(closed, url, load, DURATION_S);
  const [c1, u1, m1, s1, t1] = [treeCpuMicros(pid), treeCpuMicros(upstreamPid), machineStat(), process.cpuUsage(), performance.now()];
  const load1 = loadavg()[0]!;
  if (max.failures > 0) throw new BenchFailure(`${spec.title}: ${max.failures} failed responses at max throughput (${max.failureDetail})`);
  const self = s1.user + s1.system - s0.user - s0.system;
  const ours = c1 - c0 + (pid === upstreamPid ? 0 : u1 - u0) + self + (m0 && m1 ? m1.children - m0.children : 0);
  const fixed = await openLoop(open, url, PATH, load);
  // A failed request or a non-2xx answer ends the run. Requests merely unanswered 10 s after the last was
  // issued mean the target could not keep up with the offered rate on this (shared) CPU: the round's
  // latencies are queueing, marked as saturated, not a wrong answer.
  if (fixed.non2xx > 0 || fixed.failed > 0)
    throw new BenchFailure(
      `${spec.title}: at ${RATE} req/s, ${fixed.non2xx} non-2xx answers (${JSON.stringify(fixed.statuses)}) and ${fixed.failed} failed requests`,
    );
  return {
    throughput: max.requests / max.seconds,
    cpuPerReq: (c1 - c0) / max.requests,
    p50: fixed.p50Ms,
    p99: fixed.p99Ms,
    achievedRate: fixed.achievedRate,
    unanswered: fixed.unanswered,
    rss: rss.stop(),
    load1,
    otherWork: m0 && m1 ? Math.max(0, m1.busy - m0.busy - ours) / ((t1 - t0) * 1000) : NaN,
  };
}

// ---------------------------------------------------------------------------------------------- report

interface Row {
  spec: TargetSpec;
  samples: Sample[];
}

const col = (samples: Sample[], f: (s: Sample) => number) => median(samples.map(f));
/**
 * How far a target's CPU per request moved between rounds: second highest less second lowest, over the
 * median (with fewer than four rounds, highest less lowest). On a quiet host the bare proxy's stays
 * under 10 %; past STEADY the host was disturbed, and a ratio against it says nothing.
 */
const spread = (samples: Sample[]): number => {
  const cs = samples.map((s) => s.cpuPerReq).sort((a, b) => a - b);
  const [low, high] = cs.length >= 4 ? [cs[1]!, cs.at(-2)!] : [cs[0]!, cs.at(-1)!];
  return (high - low) / median(cs);
};
const STEADY = 0.2;
/** A mark on p99 when some rounds could not keep up with the fixed rate (their latencies are queueing). */
const saturated = (samples: Sample[]) => {
  const n = samples.filter((s) => s.unanswered > 0).length;
  return n > 0 ? ` (saturated in ${n} of ${samples.length})` : '';
};

function report(rows: Row[], meta: { wall: number; loadStart: number; loadEnd: number; checks: string[]; command: string }): string {
  const cpu = (id: string) => {
    const row = rows.find((r) => r.spec.id === id);
    return row ? col(row.samples, (s) => s.cpuPerReq) : NaN;
  };
  const ratio = (value: number, base: number) => (Number.isNaN(base) ? '' : `${(value / base).toFixed(2)}×`);
  const lines = [
    `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: \`${meta.command}\`. Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB; ${generator === 'wrk' ? 'wrk -t1' : 'autocannon'} -c${CONNECTIONS} for ${DURATION_S} s after a ${WARMUP_S} s warm-up ` +
      `(first warm-up ${INITIAL_WARMUP_S} s); open loop ${RATE} req/s for ${RATE_DURATION_S} s over ${OPEN_LOOP_CONNECTIONS} connections after a ${OPEN_LOOP_WARMUP_MS / 1000} s warm-up; ` +
      `${pin.enabled ? `target pinned to CPU ${pin.targetCpus}, upstream and load generators to CPU ${pin.loadCpus}` : 'no CPU pinning'}; ` +
      `${ROUNDS} rounds, targets interleaved; ${KEYS} active key${KEYS === 1 ? '' : 's'} for the key targets; 1-minute load average ${meta.loadStart.toFixed(2)} at the start, ` +
      `${meta.loadEnd.toFixed(2)} at the end; ${Math.round(meta.wall)} s.`,
    '',
    `| target | CPU µs/req (median) | min–max | × bare proxy | × HAProxy | × HAProxy + keys | req/s | p50 ms at ${RATE}/s | p99 ms at ${RATE}/s | peak RSS MB | load (1 min) | other work |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const { spec, samples } of rows) {
    const c = col(samples, (s) => s.cpuPerReq);
    const cs = samples.map((s) => s.cpuPerReq);
    lines.push(
      `| ${spec.group === 'gatehouse' ? `**${spec.title}**` : spec.title} | ${c.toFixed(1)} | ${Math.min(...cs).toFixed(1)}–${Math.max(...cs).toFixed(1)} | ` +
        `${ratio(c, cpu('bare'))} | ${ratio(c, cpu('haproxy'))} | ${ratio(c, cpu('haproxy-keys'))} | ${col(samples, (s) => s.throughput).toFixed(0)} | ` +
        `${col(samples, (s) => s.p50).toFixed(3)} | ${col(samples, (s) => s.p99).toFixed(3)}${saturated(samples)} | ${(Math.max(...samples.map((s) => s.rss)) / 2 ** 20).toFixed(0)} | ` +
        `${col(samples, (s) => s.load1).toFixed(2)} | ${Number.isNaN(samples[0]!.otherWork) ? '' : `${(100 * col(samples, (s) => s.otherWork)).toFixed(0)} %`} |`,
    );
  }
  const targets: [string, string, string, number][] = [
    ['apiKey + rate limit + quota + usage', 'gatehouse-apikey', 'bare', 1.15],
    ['apiKey + rate limit + quota + usage', 'gatehouse-apikey', 'haproxy-keys', 2],
    ['bearer ES256, verified-token cache on', 'gatehouse-bearer', 'bare', 1.05],
    ['bearer ES256, verified-token cache on', 'gatehouse-bearer', 'bare-bearer', 1.05],
  ];
  const measured = targets.filter(([, id, base]) => !Number.isNaN(cpu(id)) && !Number.isNaN(cpu(base)));
  if (measured.length > 0) {
    lines.push('', "Against issue 14's targets (CPU µs per request, ratio of the medians; this host is shared and noisy, so ratios only):", '');
    for (const [what, id, base, limit] of measured) {
      const r = cpu(id) / cpu(base);
      const baseRow = rows.find((row) => row.spec.id === base)!;
      const moved = Math.max(spread(baseRow.samples), spread(rows.find((row) => row.spec.id === id)!.samples));
      const verdict =
        moved > STEADY
          ? `no verdict: CPU per request moved by ${(100 * moved).toFixed(0)} % between rounds (second highest less second lowest, of the median; over ${100 * STEADY} % the host was disturbed)`
          : r <= limit
            ? 'within'
            : 'above';
      lines.push(`- ${what}: ${r.toFixed(2)}× ${baseRow.spec.title} (target ≤ ${limit}×): ${verdict}`);
    }
  }
  // Every core: throughput (req/s, median), 2 workers against 1 on the same CPUs, and against nginx with 2 workers.
  const rps = (id: string) => {
    const row = rows.find((r) => r.spec.id === id);
    return row ? col(row.samples, (s) => s.throughput) : NaN;
  };
  const everyCore: [string, string, string][] = [
    ['Gatehouse apiKey, 2 workers against 1 (both unpinned)', 'gatehouse-apikey-workers2', 'gatehouse-apikey-workers1-all'],
    ['Gatehouse apiKey, 2 workers against nginx + keys with 2 workers', 'gatehouse-apikey-workers2', 'nginx-keys-workers2'],
    ['nginx + keys, 2 workers against 1 (the 1-worker one pinned)', 'nginx-keys-workers2', 'nginx-keys'],
  ];
  const shown = everyCore.filter(([, a, b]) => !Number.isNaN(rps(a)) && !Number.isNaN(rps(b)));
  if (shown.length > 0) {
    lines.push('', 'Every core (req/s at max throughput, ratio of the medians; wrk and the upstream share the same two CPUs):', '');
    for (const [what, a, b] of shown) lines.push(`- ${what}: ${(rps(a) / rps(b)).toFixed(2)}× (${rps(a).toFixed(0)} against ${rps(b).toFixed(0)} req/s)`);
  }
  lines.push('', 'CPU µs per request, round by round (each round starts one target later in the list):', '');
  lines.push(`| target | ${rows[0]!.samples.map((_, i) => `round ${i + 1}`).join(' | ')} |`);
  lines.push(`| --- | ${rows[0]!.samples.map(() => '---:').join(' | ')} |`);
  for (const { spec, samples } of rows) lines.push(`| ${spec.title} | ${samples.map((s) => s.cpuPerReq.toFixed(1)).join(' | ')} |`);
  lines.push('', 'Checked before measuring:', '', ...meta.checks.map((c) => `- ${c}`));
  return lines.join('\n') + '\n';
}

const chart = (rows: Row[]) =>
  barChartSvg(
    `CPU per request, side by side (${ROUNDS} round${ROUNDS === 1 ? '' : 's'}, ${new Date().toISOString().slice(0, 10)})`,
    rows.map(({ spec, samples }) => {
      const cs = samples.map((s) => s.cpuPerReq);
      return { label: spec.title, median: median(cs), min: Math.min(...cs), max: Math.max(...cs), highlight: spec.group === 'gatehouse' };
    }),
  );

const BEGIN = '<!-- side-by-side:begin (written by `npm run bench`; edits inside are replaced) -->';
const END = '<!-- side-by-side:end -->';

/** Replaces the marked section of docs/benchmarks.md (appends one when there is none). */
function writeDocs(markdown: string, svg: string): void {
  const docs = join(root, 'docs', 'benchmarks.md');
  const text = readFileSync(docs, 'utf8');
  const section = `${BEGIN}\n\n![CPU µs per request per target, median and range over the rounds](benchmarks-side-by-side.svg)\n\n${markdown}\n${END}`;
  const [start, end] = [text.indexOf(BEGIN), text.indexOf(END)];
  const next = start >= 0 && end > start ? text.slice(0, start) + section + text.slice(end + END.length) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(docs, next);
  writeFileSync(join(root, 'docs', 'benchmarks-side-by-side.svg'), svg);
}

// ---------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const t0 = performance.now();
  const loadStart = loadavg()[0]!;
  const watchdog = setTimeout(() => {
    console.error('side-by-side: watchdog expired (60 minutes); stopping');
    process.exit(2);
  }, 3_600_000);
  watchdog.unref();

  const wanted = args.targets?.split(',').flatMap((t) => TARGET_SETS[t.trim()] ?? [t.trim()]);
  for (const id of wanted ?? [])
    if (!TARGETS.some((t) => t.id === id)) throw new BenchFailure(`unknown target ${id}; use ${TARGETS.map((t) => t.id).join(', ')}`);
  const specs = TARGETS.filter((t) => !wanted || wanted.includes(t.id));
  if (KEYS > 1 && generator !== 'wrk') throw new BenchFailure('--keys above 1 needs wrk');

  const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-side-by-side-'));
  process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
  const keys = mappedKeys();
  const upstream = await startChild(pin, 'upstream', 'upstream-child.ts', [], pin.loadCpus);
  const targets: Target[] = [];
  for (const spec of specs) {
    targets.push(await startTarget(spec, upstream, keys, scratch));
    console.error(`side-by-side: started ${spec.title} (${targets.at(-1)!.child.url}, pid ${targets.at(-1)!.child.proc.pid})`);
  }
  for (const target of targets) {
    const like = target.spec.kind === 'node' ? target.spec.sameRequestAs : undefined;
    if (like === undefined) continue;
    const source = targets.find((t) => t.spec.id === like);
    if (!source) throw new BenchFailure(`${target.spec.id} is sent ${like}'s requests: add ${like} to --targets`);
    target.load = source.load;
  }
  const checks = await checkTargets(targets, keys.check, keys.bench[0]!);
  for (const note of checks) console.error(`side-by-side: checked ${note}`);
  // The rate limits of the key targets have seen the check burst; the bench keys were not part of it.

  if (!args.check) {
    for (const target of targets) {
      await initialWarmUp(closed, target.spec.title, `${target.child.url}${PATH}`, target.load, INITIAL_WARMUP_S);
    }
  }
  const rows: Row[] = targets.map((t) => ({ spec: t.spec, samples: [] }));
  for (let round = 1; !args.check && round <= ROUNDS; round++) {
    for (let j = 0; j < targets.length; j++) {
      const i = (j + round - 1) % targets.length;
      const s = await measure(targets[i]!, upstream);
      rows[i]!.samples.push(s);
      console.error(
        `round ${round} ${targets[i]!.spec.title}: ${s.throughput.toFixed(0)} req/s, ${s.cpuPerReq.toFixed(1)} µs CPU/req, p50 ${s.p50.toFixed(3)} ms, ` +
          `p99 ${s.p99.toFixed(3)} ms${s.unanswered > 0 ? ` (saturated: ${s.unanswered} unanswered)` : ''}, RSS ${(s.rss / 2 ** 20).toFixed(0)} MB, load ${s.load1.toFixed(2)}, other work ${(100 * s.otherWork).toFixed(0)} %`,
      );
    }
  }

  // Every request each Gatehouse saw must have been forwarded: no denial of any kind.
  for (const { spec, child } of targets) {
    if (spec.kind !== 'gatehouse') continue;
    const reply = nextMessage<{ outcomes: Record<string, number> }>(child.proc, 'outcomes');
    child.proc.send({ type: 'outcomes' });
    const { outcomes } = await reply;
    if (Object.keys(outcomes).some((code) => code !== 'FORWARDED')) throw new BenchFailure(`${spec.title} refused requests: ${JSON.stringify(outcomes)}`);
  }
  await Promise.all([...targets.filter((t) => t.child !== upstream).map((t) => stopChild(t.child.proc)), stopChild(upstream.proc)]);
  if (args.check) {
    console.error(`side-by-side: --check: ${targets.length} targets started and checked`);
    return;
  }

  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const markdown = report(rows, { wall: (performance.now() - t0) / 1000, loadStart, loadEnd: loadavg()[0]!, checks, command });
  const svg = chart(rows);
  process.stdout.write(markdown);
  const results = join(here, 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'side-by-side.md'), markdown);
  writeFileSync(join(results, 'side-by-side.svg'), svg);
  writeFileSync(
    join(results, 'side-by-side.json'),
    JSON.stringify(
      rows.map((r) => ({ id: r.spec.id, title: r.spec.title, samples: r.samples })),
      null,
      2,
    ),
  );
  // A run in which the targets with a verdict, or their baselines, moved too much between rounds is kept
  // in results/, not written over the last good one.
  const judged = ['bare', 'bare-bearer', 'haproxy-keys', 'gatehouse-apikey', 'gatehouse-bearer'];
  const moved = rows.filter((r) => judged.includes(r.spec.id) && spread(r.samples) > STEADY);
  const disturbed = moved.length > 0;
  const docs = args.docs && ROUNDS >= 5 && !disturbed;
  if (docs) writeDocs(markdown, svg);
  console.error(
    `side-by-side: written to ${results}/side-by-side.{md,svg,json}${
      docs
        ? ' and docs/benchmarks.md'
        : disturbed
          ? ` (docs/ untouched: CPU per request moved between rounds by over ${100 * STEADY} %, so the host was disturbed: ${moved.map((r) => `${r.spec.title} ${(100 * spread(r.samples)).toFixed(0)} %`).join(', ')})`
          : ' (docs/ untouched: fewer than 5 rounds, or --no-docs)'
    }`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof BenchFailure ? `BENCHMARK FAILED: ${error.message}` : error);
    killAll();
    process.exit(1);
  },
);
