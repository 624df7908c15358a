/**
 * What every benchmark child answers over IPC, between runs, when it is idle:
 * - { type: 'cpu' } → { type: 'cpu', user, system }: its CPU time so far (all threads, µs);
 * - { type: 'profile-start' } / { type: 'profile-stop', file } → { type: 'profile-stopped' }: a V8 CPU
 *   profile of exactly the interval between the two, written to `file` (bench/gateway.ts --profile);
 * - { type: 'memory' } → { type: 'memory', usage, spaces }: process.memoryUsage() and the main isolate's
 *   heap spaces ([used, committed] bytes each), after a full GC when the child runs with --expose-gc;
 * - { type: 'heap-start' } / { type: 'heap-stop', file } → { type: 'heap-stopped' }: a sampling heap
 *   profile of the objects allocated between the two that outlived a scavenge (still alive at the stop,
 *   or collected by a major GC since; those a scavenge collected are left out, unless `all`): bench/survivors.ts.
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
