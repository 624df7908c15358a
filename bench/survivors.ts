/**
 * Where the objects that outlive scavenges are allocated (issue 14: the p99 with 10,000 keys is held
 * up by scavenges of 20-35 ms, and a scavenge costs what survives it). Starts the upstream and a
 * seeded Gatehouse (bench/gatehouse-child.ts), warms it, then samples the heap while wrk drives it
 * for --seconds: V8's sampling heap profiler, told to keep the objects a major GC collected and
 * drop those a scavenge collected, reports the allocation sites of what outlived the young
 * generation (kept for good, or promoted and then dropped: both make scavenges slow and major GCs
 * frequent), in bytes per request (self size), heaviest first.
 *
 *   node bench/survivors.ts --keys 10000 [--seconds 5] [--scenario apiKey] [--mode on] [--config '{"json":1}'] [--top 25]
 *   node bench/survivors.ts --bare      # the bare undici proxy (bench/bare-proxy-child.ts), sent the same requests
 *   node bench/survivors.ts --all       # every allocation, also what scavenges collect: what makes scavenges frequent
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killAll, nextMessage, startChild } from './lib/children.ts';
import { closedLoop, initialWarmUp, pickGenerator } from './lib/load.ts';
import { pinning } from './lib/pinning.ts';
import { SEEDED_GATEHOUSE_OPTIONS, startSeededGatehouse } from './lib/seeded-gatehouse.ts';

const { values: args } = parseArgs({
  options: {
    ...SEEDED_GATEHOUSE_OPTIONS,
    top: { type: 'string', default: '25' },
    bare: { type: 'boolean', default: false },
    all: { type: 'boolean', default: false },
  },
});

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: Node[];
}

const pin = pinning(true);
const settings = { generator: pickGenerator(undefined), connections: 50, pin };
try {
  const { upstream, gatehouse: gh, load } = await startSeededGatehouse(pin, args);
  const bare = args.bare ? await startChild(pin, 'bare proxy', 'bare-proxy-child.ts', [upstream.url], pin.targetCpus) : null;
  const target = bare ?? gh;
  const url = `${target.url}${gh.path}`;
  // Every key presented once first, then 4 s of load: what is measured is the steady state, not first reads.
  await initialWarmUp(settings, target.name, url, load, 4);
  target.proc.send({ type: 'heap-start', all: args.all });
  await nextMessage(target.proc, 'heap-started');
  const run = await closedLoop(settings, url, load, Number(args.seconds));
  const file = join(import.meta.dirname, 'results', args.all ? 'allocations.heapprofile' : 'survivors.heapprofile');
  target.proc.send({ type: 'heap-stop', file });
  await nextMessage(target.proc, 'heap-stopped', 120_000);
  const { head } = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8')) as { head: Node };
  const bySite = new Map<string, number>();
  const walk = (node: Node, path: string[]): void => {
    const f = node.callFrame;
    const site = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(src|node_modules|bench)\//, '$1/')}:${f.lineNumber + 1}`;
    if (node.selfSize > 0) {
      // The allocating frame and its caller: the allocating one is often a library helper.
      const key = `${site}  <  ${path.at(-1) ?? ''}`;
      bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, [...path, site]);
  };
  walk(head, []);
  const requests = run.requests;
  const totalBytes = [...bySite.values()].reduce((a, b) => a + b, 0);
  const lines = [
    `survivors after ${args.seconds} s of wrk -c50 (${requests} requests, ${bare ? 'bare proxy' : `${args.keys} keys, ${args.scenario}, ${args.mode}`}): ` +
      `${(totalBytes / 1e6).toFixed(1)} MB ${args.all ? 'allocated' : 'outlived a scavenge'}, ${(totalBytes / requests).toFixed(0)} bytes per request`,
    ...[...bySite.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, Number(args.top))
      .map(([site, bytes]) => `${(bytes / requests).toFixed(1).padStart(8)} B/req  ${site}`),
  ];
  writeFileSync(join(import.meta.dirname, 'results', args.all ? 'allocations.txt' : 'survivors.txt'), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
} finally {
  killAll();
}
