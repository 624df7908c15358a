/**
 * CPU per request of several Gatehouses and the bare undici proxy, side by side in short interleaved
 * rounds, to tell apart changes of a few µs on a noisy host (issue 14: what the fixed cost of a request
 * is made of). Every target runs pinned to the same CPU (the last); the upstream and wrk on the others.
 * Each round gives every target one closed-loop run of --duration seconds (after a short warm-up), in an
 * order rotated per round, and reads the target's CPU time (all threads) over it. Other work only ever
 * adds CPU time, so the minimum over the rounds is the cleanest figure; the median is beside it. Each
 * target's peak RSS over its measured runs is beside them: alternated in one run, so a memory setting's
 * effect is told from the host's drift, which moves RSS between separate runs by ±50 MB.
 *
 *   node bench/cost-ab.ts --variant 'public|public' --variant 'public, no observers|public|observability-off' \
 *                         [--variant 'label|scenario|mode|{"config":"json"}|/other/tree'] [--rounds 8] [--duration 3]
 *
 * A variant is `label|scenario|mode|config|tree|node flags` (bench/lib/variants.ts: another tree compares
 * code, node flags compare settings). `--keys N` gives the apiKey variants N keys taken in turn. Fails on any non-2xx.
 */
import { parseArgs } from 'node:util';
import { cpuSpent, cpuTime, killAll, startChild, stopChild, total } from './lib/children.ts';
import { BenchFailure, closedLoop, pickGenerator } from './lib/load.ts';
import { machineStat, sampleRss, threadCpuMicros } from './lib/machine.ts';
import { pinning } from './lib/pinning.ts';
import { startVariant, type Variant } from './lib/variants.ts';
import { median } from './lib/stats.ts';
import { loadavg } from 'node:os';

const { values: args } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '8' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '50' },
    keys: { type: 'string', default: '1' },
    pin: { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const ROUNDS = Number(args.rounds);
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const pin = pinning(args.pin);
const generator = pickGenerator(undefined);
const settings = { generator, connections: Number(args.connections), pin };

interface Target extends Variant {
  samples: number[];
  other: number[];
  /** µs per request per thread name, every round (threads that end between readings count as nothing). */
  threads: Map<string, number[]>;
  /** Peak RSS (bytes) over its measured runs: the variants alternate, so their peaks are comparable. */
  rss: number;
}

try {
  const upstream = await startChild(pin, 'upstream', 'upstream-child.ts', [], pin.loadCpus);
  const bare = await startChild(pin, 'bare proxy', 'bare-proxy-child.ts', [upstream.url], pin.targetCpus);
  const targets: Target[] = [];
  const variants = args.variant as string[];
  for (const spec of variants)
    targets.push({ ...(await startVariant(pin, spec, upstream.url, Number(args.keys))), samples: [], other: [], threads: new Map(), rss: 0 });
  // The bare proxy is sent what the first variant sends (the same headers: every target parses the same request).
  const first = targets[0];
  targets.unshift({
    label: 'bare undici proxy',
    child: bare,
    url: `${bare.url}${first ? new URL(first.url).pathname : '/bench'}`,
    load: first ? [first.load[0]!] : [{}],
    samples: [],
    other: [],
    threads: new Map(),
    rss: 0,
  });
  const load0 = loadavg()[0]!;
  for (const t of targets) await closedLoop(settings, t.url, t.load, 3); // first warm-up: JIT, pools, caches
  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const t of order) {
      const warm = await closedLoop(settings, t.url, t.load, WARMUP_S);
      if (warm.failures > 0) throw new BenchFailure(`${t.label}: ${warm.failureDetail}`);
      const [c0, m0, t0] = [await cpuTime(t.child), machineStat(), threadCpuMicros(t.child.proc.pid!)];
      const rss = sampleRss(t.child.proc.pid!);
      const r = await closedLoop(settings, t.url, t.load, DURATION_S);
      t.rss = Math.max(t.rss, rss.stop());
      const [c1, m1, t1] = [await cpuTime(t.child), machineStat(), threadCpuMicros(t.child.proc.pid!)];
      if (r.failures > 0) throw new BenchFailure(`${t.label}: ${r.failureDetail}`);
      const spent = total(cpuSpent(c0, c1));
      t.samples.push(spent / r.requests);
      // Busy CPU on the machine not spent by the target, in CPUs (a rough guide: the upstream and wrk are in it).
      if (m0 && m1) t.other.push((m1.busy - m0.busy - spent) / 1e6 / r.seconds);
      const byThread: string[] = [];
      for (const [name, after] of t1) {
        const list = t.threads.get(name) ?? [];
        const perRequest = (after - (t0.get(name) ?? 0)) / r.requests;
        list.push(perRequest);
        t.threads.set(name, list);
        if (perRequest >= 0.5) byThread.push(`${name} ${perRequest.toFixed(1)}`);
      }
      // By thread too, so a round that jumps says where: one thread of the target's own, or all of them (the host).
      console.error(
        `round ${round + 1} ${t.label}: ${(spent / r.requests).toFixed(1)} µs/req (${byThread.join(', ')}), ${Math.round(r.requests / r.seconds)} req/s`,
      );
    }
  }
  const bareMin = Math.min(...targets[0]!.samples);
  const bareMedian = median(targets[0]!.samples);
  console.log(
    `CPU µs per request, ${ROUNDS} rounds × ${DURATION_S} s, wrk -c${args.connections}, ${pin.enabled ? `targets pinned to CPU ${pin.targetCpus}` : 'unpinned'}; load average ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}\n`,
  );
  console.log('| target | min | median | × bare (min) | × bare (median) | other CPU (median) | peak RSS (MB) | every round |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const t of targets)
    console.log(
      `| ${t.label} | ${Math.min(...t.samples).toFixed(1)} | ${median(t.samples).toFixed(1)} | ${(Math.min(...t.samples) / bareMin).toFixed(2)}× | ${(median(t.samples) / bareMedian).toFixed(2)}× | ${t.other.length ? median(t.other).toFixed(2) : '–'} | ${(t.rss / 2 ** 20).toFixed(0)} | ${t.samples.map((x) => x.toFixed(1)).join(' ')} |`,
    );
  console.log('\nCPU µs per request by thread (median over the rounds; threads of one name summed):\n');
  for (const t of targets)
    console.log(
      `- ${t.label}: ${[...t.threads]
        .map(([name, xs]) => [name, median(xs)] as const)
        .filter(([, x]) => x >= 0.05)
        .sort((a, b) => b[1] - a[1])
        .map(([name, x]) => `${name} ${x.toFixed(1)}`)
        .join(', ')}`,
    );
  for (const t of targets) await stopChild(t.child.proc);
  await stopChild(upstream.proc);
} catch (error) {
  console.error(error instanceof BenchFailure ? `BENCHMARK FAILED: ${error.message}` : error);
  killAll();
  process.exitCode = 1;
}
