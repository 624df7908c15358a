/**
 * Where a proxy's CPU goes per request, from the whole system's point of view: `perf record` samples the
 * target's threads on the cpu-clock (no hardware counters needed) while wrk loads it, and perf's report,
 * with node's `--perf-basic-prof` map for JIT code, is summed by kind (JavaScript, V8 builtins and
 * runtime, garbage collection, Node's C++, libuv, libc, the kernel) and by symbol, in µs per request. The
 * bare undici proxy and each Gatehouse variant run in the same rounds, so the differences are read within
 * one run. Unlike `--cpu-prof` (bench/gateway.ts --profile), sampling costs the target almost nothing
 * (a timer interrupt every 1/--frequency s), and time in the kernel, the GC threads and native code counts.
 *
 *   node bench/perf-profile.ts [--variant 'label|scenario|mode|{"config":"json"}|tree|node flags'] [--rounds 3] [--duration 5]
 *                              [--frequency 2999] [--top 40] [--call-graph] [--keys N]
 *
 * The recordings stay in a temporary directory (printed), one per target and round with its request count
 * on stderr; with --call-graph they hold call chains too
 * (frame pointers), for `perf report -i FILE --no-children -S SYMBOL -G` to say who calls a hot builtin.
 * Variants as in bench/lib/variants.ts (another tree or node flags too); default: apiKey with everything on.
 * `--keys N` gives the apiKey variants N keys taken in turn. Needs `perf`
 * (Debian's linux-perf) and perf_event_paranoid ≤ 1 or root.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killAll, startChild, stopChild } from './lib/children.ts';
import { BenchFailure, closedLoop, pickGenerator, run } from './lib/load.ts';
import { pinning } from './lib/pinning.ts';
import { startVariant, type Variant } from './lib/variants.ts';

const { values: args } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    frequency: { type: 'string', default: '2999' },
    connections: { type: 'string', default: '50' },
    top: { type: 'string', default: '40' },
    'call-graph': { type: 'boolean', default: false },
    keys: { type: 'string', default: '1' },
  },
});
const ROUNDS = Number(args.rounds);
const FREQUENCY = Number(args.frequency);
const pin = pinning(true);
const settings = { generator: pickGenerator(undefined), connections: Number(args.connections), pin };
const outDir = mkdtempSync(join(tmpdir(), 'gatehouse-perf-'));
// JIT code gets names in /tmp/perf-<pid>.map, which perf report reads.
process.env.BENCH_NODE_FLAGS = `${process.env.BENCH_NODE_FLAGS ?? ''} --perf-basic-prof`;

interface Target extends Variant {
  requests: number;
  /** Samples per `kind\tthread\tsymbol`, summed over the rounds. */
  samples: Map<string, number>;
}

/** Kinds, by perf's shared object and symbol: the first match wins. */
function kindOf(dso: string, symbol: string): string {
  if (dso.includes('kernel')) return 'kernel';
  if (dso.startsWith('[JIT]') || dso.includes('/tmp/perf-')) {
    if (!symbol.startsWith('JS:')) return 'V8 builtins';
    if (symbol.includes('/node_modules/')) return `JavaScript (${/\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(symbol)![1]})`;
    if (symbol.includes(' node:')) return 'JavaScript (node)';
    return 'JavaScript (gatehouse)';
  }
  if (
    /Scaveng|MarkCompact|Marking|Sweep|Heap::|GCTracer|Evacuat|Compactor|IncrementalMark|ConcurrentMark|MinorMark|Remembered|SlotSet|PagedSpace|NewSpace|Semi|Allocation/.test(
      symbol,
    )
  )
    return 'garbage collection';
  if (dso.includes('libc')) return 'libc';
  if (/^uv_|^uv__/.test(symbol)) return 'libuv';
  if (/v8::internal::(compiler|maglev|turboshaft|baseline|interpreter)|Compile|Optimiz|Deoptimiz/.test(symbol)) return 'V8 compilers';
  if (/^v8::|v8::internal|Builtins_/.test(symbol)) return 'V8 runtime';
  if (/^node::|llhttp|nghttp|ada::|simdutf/.test(symbol)) return "Node's C++";
  return `other (${dso})`;
}

async function profile(target: Target, round: number): Promise<void> {
  // One recording per round, so a kept file's samples go with the requests of that round alone.
  const file = join(outDir, `${target.label.replace(/\W+/g, '-')}-round${round + 1}.data`);
  const graph = args['call-graph'] ? ['-g'] : [];
  const perf = spawn('perf', ['record', '-q', ...graph, '-e', 'cpu-clock', '-F', String(FREQUENCY), '-p', String(target.child.proc.pid), '-o', file], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // perf record ends on SIGINT (exit code 130, or the signal itself); anything else is a failure.
  const exited = new Promise<number | string | null>((resolve) => perf.once('exit', (code, signal) => resolve(code ?? signal)));
  await new Promise((resolve) => setTimeout(resolve, 300)); // perf attaches to every thread
  const r = await closedLoop(settings, target.url, target.load, Number(args.duration));
  perf.kill('SIGINT');
  const code = await exited;
  if (code !== 0 && code !== 130 && code !== 'SIGINT') throw new BenchFailure(`perf record failed for ${target.label} (${code})`);
  if (r.failures > 0) throw new BenchFailure(`${target.label}: ${r.failureDetail}`);
  target.requests += r.requests;
  console.error(`${file}: ${r.requests} requests`);
  const report = await run('perf', [
    'report',
    '-i',
    file,
    '--stdio',
    '--no-children',
    '--sort',
    'comm,dso,sym',
    '-F',
    'sample,comm,dso,sym',
    '-t',
    '\t',
    '--percent-limit',
    '0',
  ]);
  for (const line of report.split('\n')) {
    // "1234 \tMainThread \tnode \t[.] v8::internal::Foo", "12 \tMainThread \t[JIT] tid 7 \t[.] JS:*bar file:1:2"
    if (line.startsWith('#')) continue;
    const fields = line.split('\t').map((f) => f.trim());
    if (fields.length !== 4 || !/^\d+$/.test(fields[0]!)) continue;
    const [count, thread, dso, rawSymbol] = fields as [string, string, string, string];
    const symbol = rawSymbol.replace(/^\[[.k]\] /, '').replace(/\s+/g, ' ');
    const key = `${kindOf(dso, symbol)}\t${thread}\t${symbol}`;
    target.samples.set(key, (target.samples.get(key) ?? 0) + Number(count));
  }
}

function perRequest(target: Target, pick: (kind: string, thread: string, symbol: string) => string | null): Map<string, number> {
  const out = new Map<string, number>();
  const usPerSample = 1e6 / FREQUENCY;
  for (const [key, count] of target.samples) {
    const [kind, thread, symbol] = key.split('\t') as [string, string, string];
    const bucket = pick(kind, thread, symbol);
    if (bucket !== null) out.set(bucket, (out.get(bucket) ?? 0) + (count * usPerSample) / target.requests);
  }
  return out;
}

function table(title: string, targets: Target[], pick: (kind: string, thread: string, symbol: string) => string | null, limit: number): void {
  const maps = targets.map((t) => perRequest(t, pick));
  const rows = new Set(maps.flatMap((m) => [...m.keys()]));
  const base = maps[0]!;
  const sorted = [...rows].sort((a, b) => {
    const spread = (k: string) => Math.max(...maps.map((m) => Math.abs((m.get(k) ?? 0) - (base.get(k) ?? 0))));
    return spread(b) - spread(a) || (maps[1]?.get(b) ?? 0) - (maps[1]?.get(a) ?? 0);
  });
  console.log(`\n${title}\n`);
  console.log(`| ${['', ...targets.map((t) => t.label)].join(' | ')} |`);
  console.log(`| --- |${targets.map(() => ' ---: |').join('')}`);
  for (const row of sorted.slice(0, limit)) console.log(`| ${row.replaceAll('|', '\\|')} | ${maps.map((m) => (m.get(row) ?? 0).toFixed(2)).join(' | ')} |`);
  console.log(`| **total** | ${maps.map((m) => [...m.values()].reduce((a, b) => a + b, 0).toFixed(1)).join(' | ')} |`);
}

try {
  const upstream = await startChild(pin, 'upstream', 'upstream-child.ts', [], pin.loadCpus);
  const bare = await startChild(pin, 'bare proxy', 'bare-proxy-child.ts', [upstream.url], pin.targetCpus);
  const targets: Target[] = [];
  for (const spec of (args.variant as string[]).length ? (args.variant as string[]) : ['apiKey|apiKey'])
    targets.push({ ...(await startVariant(pin, spec, upstream.url, Number(args.keys))), requests: 0, samples: new Map() });
  const first = targets[0]!;
  targets.unshift({
    label: 'bare undici proxy',
    child: bare,
    url: `${bare.url}${new URL(first.url).pathname}`,
    load: [first.load[0]!],
    requests: 0,
    samples: new Map(),
  });
  for (const t of targets) await closedLoop(settings, t.url, t.load, 3); // JIT, pools, caches
  for (let round = 0; round < ROUNDS; round++)
    for (const t of targets.map((_, i) => targets[(i + round) % targets.length]!)) {
      await closedLoop(settings, t.url, t.load, 1);
      await profile(t, round);
    }
  console.log(`recordings in ${outDir}\n`);
  console.log(
    `perf record -e cpu-clock -F ${FREQUENCY}, ${ROUNDS} rounds × ${args.duration} s, wrk -c${args.connections}, targets pinned to CPU ${pin.targetCpus}; µs per request`,
  );
  table('By kind and thread', targets, (kind, thread) => `${kind} (${thread})`, 100);
  table(
    `By symbol (the ${args.top} that differ most from the bare proxy)`,
    targets,
    (_kind, thread, symbol) => `${thread}: ${symbol.slice(0, 110)}`,
    Number(args.top),
  );
  for (const t of targets) await stopChild(t.child.proc);
  await stopChild(upstream.proc);
} catch (error) {
  console.error(error instanceof BenchFailure ? `BENCHMARK FAILED: ${error.message}` : error);
  killAll();
  process.exitCode = 1;
}
