/**
 * What every benchmark child answers over IPC, between runs, when it is idle:
 * - { type: 'cpu' } → { type: 'cpu', user, system }: its CPU time so far (all threads, µs);
 * - { type: 'profile-start' } / { type: 'profile-stop', file } → { type: 'profile-stopped' }: a V8 CPU
 *   profile of exactly the interval between the two, written to `file` (bench/gateway.ts --profile);
 * - { type: 'memory' } → { type: 'memory', usage, spaces }: process.memoryUsage() and the main isolate's
 *   heap spaces (bytes), after a full GC when the child runs with --expose-gc;
 * - { type: 'heap-start' } / { type: 'heap-stop', file } → { type: 'heap-stopped' }: a sampling heap
 *   profile of the objects allocated between the two that outlived a scavenge (still alive at the stop,
 *   or collected by a major GC since; those a scavenge collected are left out): bench/survivors.ts.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { getHeapSpaceStatistics } from 'node:v8';

export function answerCpuRequests(): void {
  let session: Session | null = null;
  process.on('message', (message: { type: string; file?: string }) => {
    if (message.type === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send!({ type: 'cpu', user, system });
    } else if (message.type === 'profile-start') {
      session = new Session();
      session.connect();
      void session
        .post('Profiler.enable')
        .then(() => session!.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_PROFILE_INTERVAL_US ?? 250) }))
        .then(() => session!.post('Profiler.start'))
        .then(() => process.send!({ type: 'profile-started' }));
    } else if (message.type === 'memory') {
      (globalThis as { gc?: () => void }).gc?.();
      const spaces = Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, [space.space_used_size, space.space_size]]));
      process.send!({ type: 'memory', usage: process.memoryUsage(), spaces });
    } else if (message.type === 'heap-start') {
      session = new Session();
      session.connect();
      void session
        .post('HeapProfiler.enable')
        .then(() => session!.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true }))
        .then(() => process.send!({ type: 'heap-started' }));
    } else if (message.type === 'heap-stop' && session) {
      const current = session;
      session = null;
      void current.post('HeapProfiler.stopSampling').then(({ profile }) => {
        writeFileSync(message.file!, JSON.stringify(profile));
        current.disconnect();
        process.send!({ type: 'heap-stopped' });
      });
    } else if (message.type === 'profile-stop' && session) {
      const current = session;
      session = null;
      void current.post('Profiler.stop').then(({ profile }) => {
        writeFileSync(message.file!, JSON.stringify(profile));
        current.disconnect();
        process.send!({ type: 'profile-stopped' });
      });
    }
  });
}
