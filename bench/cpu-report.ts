/**
 * What every benchmark child answers over IPC, between runs, when it is idle:
 * - { type: 'cpu' } → { type: 'cpu', user, system }: its CPU time so far (all threads, µs);
 * - { type: 'profile-start' } / { type: 'profile-stop', file } → { type: 'profile-stopped' }: a V8 CPU
 *   profile of exactly the interval between the two, written to `file` (bench/gateway.ts --profile);
 * - { type: 'memory' } → { type: 'memory', usage, spaces }: process.memoryUsage() and the main isolate's
 *   heap spaces ([used, committed] bytes each), after a full GC when the child runs with --expose-gc;
 * - { type: 'heap-start' } / { type: 'heap-stop', file } → { type: 'heap-stopped' }: a sampling heap
 *   profile of the objects allocated between the two that outlived a scavenge (still alive at the stop,
 *   or collected by a major GC since; those a scavenge collected are left out, unless `all`): bench/survivors.ts;
 * - { type: 'threads' } → { type: 'threads', rss, threads }: each thread's heap (the main thread's and every
 *   worker's, from the diagnostic report), committed and used bytes by space, for bench/heap-by-thread.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Session } from 'node:inspector/promises';
import { getHeapSpaceStatistics } from 'node:v8';

export function answerCpuRequests(): void {
  let session: Session | null = null;
  /** One inspector session per profile: `begin` starts it, then the parent hears `started`. */
  const begin = (steps: (s: Session) => Promise<unknown>, started: string): void => {
    const current = (session = new Session());
    current.connect();
    void steps(current).then(() => process.send!({ type: started }));
  };
  /** Ends the session's profile, writes it to `file`, then the parent hears `stopped`. */
  const end = (finish: (s: Session) => Promise<{ profile: unknown }>, file: string, stopped: string): void => {
    const current = session!;
    session = null;
    void finish(current).then(({ profile }) => {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
      current.disconnect();
      process.send!({ type: stopped });
    });
  };
  process.on('message', (message: { type: string; file?: string; all?: boolean }) => {
    if (message.type === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send!({ type: 'cpu', user, system });
    } else if (message.type === 'memory') {
      (globalThis as { gc?: () => void }).gc?.();
      const spaces = Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, [space.space_used_size, space.space_size]]));
      process.send!({ type: 'memory', usage: process.memoryUsage(), spaces });
    } else if (message.type === 'threads') {
      process.send!({ type: 'threads', rss: process.memoryUsage.rss(), threads: threadHeaps() });
    } else if (message.type === 'profile-start') {
      const interval = Number(process.env.BENCH_PROFILE_INTERVAL_US ?? 250);
      begin(
        (s) =>
          s
            .post('Profiler.enable')
            .then(() => s.post('Profiler.setSamplingInterval', { interval }))
            .then(() => s.post('Profiler.start')),
        'profile-started',
      );
    } else if (message.type === 'heap-start') {
      begin(
        (s) =>
          s.post('HeapProfiler.enable').then(() =>
            s.post('HeapProfiler.startSampling', {
              samplingInterval: 4096,
              includeObjectsCollectedByMajorGC: true,
              includeObjectsCollectedByMinorGC: message.all === true,
            }),
          ),
        'heap-started',
      );
    } else if (message.type === 'profile-stop' && session) {
      end((s) => s.post('Profiler.stop'), message.file!, 'profile-stopped');
    } else if (message.type === 'heap-stop' && session) {
      end((s) => s.post('HeapProfiler.stopSampling'), message.file!, 'heap-stopped');
    }
  });
}

/** One thread's heap: committed and used bytes by V8 space, and what it holds outside the heap. */
export interface ThreadHeap {
  /** The worker's name (`main` for the main thread). */
  name: string;
  spaces: Record<string, { committed: number; used: number }>;
  external: number;
  malloced: number;
}

interface ReportHeap {
  externalMemory: number;
  mallocedMemory: number;
  heapSpaces: Record<string, { committedMemory: number; used: number }>;
}
interface Report {
  header: { threadId: number; event: string };
  javascriptHeap: ReportHeap;
  workers: Report[];
}

/** Every thread's heap, from the diagnostic report (it reads each worker's isolate on that worker's own thread). */
function threadHeaps(): ThreadHeap[] {
  const report = process.report.getReport() as unknown as Report;
  const heaps: ThreadHeap[] = [];
  const visit = (r: Report): void => {
    const spaces = Object.fromEntries(Object.entries(r.javascriptHeap.heapSpaces).map(([name, s]) => [name, { committed: s.committedMemory, used: s.used }]));
    // A worker's subreport is "Worker thread subreport [its name]".
    const name = r.header.threadId === 0 ? 'main' : (/\[(.*)\]$/.exec(r.header.event)?.[1] ?? `thread ${r.header.threadId}`);
    heaps.push({ name, spaces, external: r.javascriptHeap.externalMemory, malloced: r.javascriptHeap.mallocedMemory });
    for (const worker of r.workers) visit(worker);
  };
  visit(report);
  return heaps;
}
