/**
 * Where a Gatehouse's memory is, thread by thread, with many hot keys (issue 14, memory target): each
 * thread's V8 heap by space (committed and used), what it holds outside the heap (typed arrays,
 * buffers), and the process's RSS, after every key was presented and a closed-loop run. With gateway
 * workers each has an isolate of its own, with its own young generation, key cache, usage counts and
 * analytics cells; this says how much of the RSS is which.
 *
 *   node bench/heap-by-thread.ts [--keys 100000] [--stored-keys 200000] [--workers 2] [--seconds 10]
 *                                [--config '{"gateway":{"workerYoungGenerationMb":24}}'] [--node-flags '--max-semi-space-size=8']
 */
import { parseArgs } from 'node:util';
import type { ThreadHeap } from './cpu-report.ts';
import { forkOn, GATEHOUSE_ENV, GATEHOUSE_NODE_FLAGS, killAll, nextMessage, startChild, stopChild } from './lib/children.ts';
import { closedLoop, initialWarmUp, loadOf, pickGenerator, type ReadyLoad } from './lib/load.ts';
import { pinning } from './lib/pinning.ts';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    'stored-keys': { type: 'string', default: '200000' },
    workers: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '10' },
    config: { type: 'string', default: '{}' },
    'node-flags': { type: 'string', default: '' },
  },
});
const pin = pinning(true);
const settings = { generator: pickGenerator(undefined), connections: 50, pin };
const MB = 1024 * 1024;

try {
  const upstream = await startChild(pin, 'upstream', 'upstream-child.ts', [], pin.loadCpus);
  const config = { ...(JSON.parse(args.config) as Record<string, unknown>) };
  const gateway = { ...((config.gateway as Record<string, unknown> | undefined) ?? {}), workers: Number(args.workers) };
  const argv = [upstream.url, 'apiKey', 'on', args.keys, JSON.stringify({ ...config, gateway }), JSON.stringify({ storedKeys: Number(args['stored-keys']) })];
  const proc = forkOn(pin, pin.targetCpus, 'gatehouse-child.ts', argv, {
    flags: [...GATEHOUSE_NODE_FLAGS, ...args['node-flags'].split(' ').filter(Boolean)],
    env: GATEHOUSE_ENV,
  });
  const ready = await nextMessage<ReadyLoad & { url: string; path: string }>(proc, 'ready', 600_000);
  const url = `${ready.url}${ready.path}`;
  const load = loadOf(ready);
  await initialWarmUp(settings, 'Gatehouse', url, load, 2, Number(args.workers));
  const run = await closedLoop(settings, url, load, Number(args.seconds));
  console.error(`benchmark: ${run.requests} requests in ${run.seconds.toFixed(1)} s, ${run.failures} failed`);
  const reply = nextMessage<{ rss: number; threads: ThreadHeap[] }>(proc, 'threads');
  proc.send({ type: 'threads' });
  const { rss, threads } = await reply;
  await stopChild(proc);
  await stopChild(upstream.proc);
  print(rss, threads);
} finally {
  killAll();
}

function print(rss: number, threads: readonly ThreadHeap[]): void {
  const mb = (bytes: number): string => (bytes / MB).toFixed(1);
  const pair = (s: { committed: number; used: number } | undefined): string => (s ? `${mb(s.committed)} / ${mb(s.used)}` : '');
  console.log(`\nRSS ${mb(rss)} MB, ${args.keys} hot keys of ${args['stored-keys']} stored, ${args.workers} gateway worker(s)\n`);
  console.log('| thread | heap committed | new space (committed / used) | old space | code | large objects | outside the heap (external) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  let committed = 0;
  let external = 0;
  for (const t of threads) {
    const heap = Object.values(t.spaces).reduce((sum, s) => sum + s.committed, 0);
    committed += heap;
    external += t.external;
    const s = t.spaces;
    console.log(
      `| ${t.name} | ${mb(heap)} | ${pair(s.new_space)} | ${pair(s.old_space)} | ${pair(s.code_space)} | ${pair(s.large_object_space)} | ${mb(t.external)} |`,
    );
  }
  console.log(`| all threads | ${mb(committed)} | | | | | ${mb(external)} |`);
}
