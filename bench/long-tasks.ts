/**
 * What holds the p99 up at a fixed offered load (issue 14, "No stalls"): runs a seeded Gatehouse at
 * --rate req/s (open loop, bench/open-loop-child.ts) with the V8 profiler on its process, then cuts the
 * main thread's samples into tasks (a run of consecutive non-idle samples) and lists the longest, each
 * with the functions that took most of it (self time, Gatehouse's own frames named by their caller
 * chain's first src/ frame). A request that arrives during a task of n ms waits up to n ms.
 *
 *   node bench/long-tasks.ts --keys 10000 [--rate 5000] [--seconds 8] [--scenario apiKey] [--config '{}'] [--top 15]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killAll, nextMessage } from './lib/children.ts';
import { initialWarmUp, openLoop, pickGenerator } from './lib/load.ts';
import { pinning } from './lib/pinning.ts';
import { SEEDED_GATEHOUSE_OPTIONS, startSeededGatehouse } from './lib/seeded-gatehouse.ts';

const { values: args } = parseArgs({
  options: { ...SEEDED_GATEHOUSE_OPTIONS, rate: { type: 'string', default: '5000' }, seconds: { type: 'string', default: '8' } },
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const IDLE = new Set(['(idle)', '(program)']);
const pin = pinning(true);
try {
  const { gatehouse: gh, load } = await startSeededGatehouse(pin, args);
  // Every key presented once first, then 4 s of load: what is measured is the steady state, not first reads.
  await initialWarmUp({ generator: pickGenerator(undefined), connections: 50, pin }, 'Gatehouse', `${gh.url}${gh.path}`, load, 4);
  const file = join(import.meta.dirname, 'results', 'profiles', 'long-tasks.cpuprofile');
  gh.proc.send({ type: 'profile-start' });
  await nextMessage(gh.proc, 'profile-started');
  const result = await openLoop({ pin, rate: Number(args.rate), durationS: Number(args.seconds), connections: 32 }, gh.url, gh.path, load);
  gh.proc.send({ type: 'profile-stop', file });
  await nextMessage(gh.proc, 'profile-stopped', 120_000);
  console.log(`open loop at ${args.rate} req/s for ${args.seconds} s: ${JSON.stringify(result)}`);
  report(JSON.parse(readFileSync(file, 'utf8')) as Profile);
} finally {
  killAll();
}

function report(profile: Profile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: ProfileNode): string =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
  /** The sample's frame, or its nearest caller in src/ when the frame itself is not ours. */
  const label = (id: number): string => {
    const leaf = byId.get(id)!;
    if (IDLE.has(leaf.callFrame.functionName) || leaf.callFrame.functionName === '(garbage collector)') return leaf.callFrame.functionName;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at)!;
      if (n.callFrame.url.includes('/src/')) return at === id ? name(n) : `${name(leaf)}  <  ${name(n)}`;
    }
    return name(leaf);
  };
  interface Task {
    ms: number;
    parts: Map<string, number>;
  }
  const tasks: Task[] = [];
  let current: Task | null = null;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const leaf = byId.get(profile.samples[i]!)!;
    if (IDLE.has(leaf.callFrame.functionName)) {
      current = null;
      continue;
    }
    total += ms;
    if (!current) tasks.push((current = { ms: 0, parts: new Map() }));
    current.ms += ms;
    const l = label(leaf.id);
    current.parts.set(l, (current.parts.get(l) ?? 0) + ms);
  }
  tasks.sort((a, b) => b.ms - a.ms);
  const over = (limit: number) => tasks.filter((t) => t.ms > limit).length;
  console.log(`${tasks.length} tasks, ${total.toFixed(0)} ms busy; over 5 ms: ${over(5)}, over 10 ms: ${over(10)}, over 20 ms: ${over(20)}`);
  for (const t of tasks.slice(0, Number(args.top))) {
    const parts = [...t.parts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4);
    console.log(`${t.ms.toFixed(1).padStart(7)} ms: ${parts.map(([l, ms]) => `${ms.toFixed(1)} ${l}`).join(' | ')}`);
  }
}
