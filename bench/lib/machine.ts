/**
 * What /proc says about the machine and about a process tree (Linux; null or 0 elsewhere). Used for
 * targets that cannot answer over IPC (nginx, HAProxy), and for every target in the side-by-side run so
 * all are measured the same way.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
const TICK_US = 1e6 / CLOCK_TICKS;

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces): index 0 is field 3 (state). */
function statFields(path: string): number[] | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null; // the process has exited between listing and reading: it counts as nothing from now on
  }
  return text
    .slice(text.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
}

/**
 * Busy time of all CPUs so far and the CPU time of this process's waited-for children (wrk), in µs. Busy
 * time beyond what the target, the upstream and the load generator used is other work on the machine
 * during a run (other processes, plus network softirq work the kernel charges to no process): a run with
 * much more of it than its neighbours was disturbed.
 */
export function machineStat(): { busy: number; children: number } | null {
  if (!existsSync('/proc/stat')) return null;
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('cpu '));
  // user nice system idle iowait irq softirq, in clock ticks (USER_HZ)
  const [user, nice, system, , , irq, softirq] = line!.trim().split(/\s+/).slice(1).map(Number) as number[];
  // cutime, cstime (fields 16 and 17) are at 13 and 14 here.
  const self = statFields('/proc/self/stat')!;
  return { busy: (user! + nice! + system! + irq! + softirq!) * TICK_US, children: (self[13]! + self[14]!) * TICK_US };
}

/** `pid` and all its descendants (nginx's and HAProxy's workers, a Gatehouse's worker processes). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const tasks = `/proc/${out[i]}/task`;
    if (!existsSync(tasks)) continue;
    for (const tid of readdirSync(tasks)) {
      let children = '';
      try {
        children = readFileSync(`${tasks}/${tid}/children`, 'utf8');
      } catch {
        continue; // the thread ended while we listed it
      }
      for (const child of children.trim().split(/\s+/)) if (child) out.push(Number(child));
    }
  }
  return out;
}

/**
 * CPU time (user + system, µs) of a process tree so far: /proc/<pid>/stat's utime and stime cover all of a
 * process's threads (worker threads, HAProxy's threads). Resolution: one clock tick (10 ms at 100 Hz),
 * under 0.3 % of a 5 s run at full load.
 */
export function treeCpuMicros(pid: number): number {
  let sum = 0;
  for (const p of processTree(pid)) {
    const f = statFields(`/proc/${p}/stat`);
    if (f) sum += (f[11]! + f[12]!) * TICK_US; // utime, stime: fields 14 and 15
  }
  return sum;
}

/** Resident memory of a process tree now (sum of VmRSS, bytes). */
export function treeRssBytes(pid: number): number {
  let sum = 0;
  for (const p of processTree(pid)) {
    let status = '';
    try {
      status = readFileSync(`/proc/${p}/status`, 'utf8');
    } catch {
      continue; // exited
    }
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (kb) sum += Number(kb[1]) * 1024;
  }
  return sum;
}

/** Samples a process tree's RSS every `everyMs` until stopped; returns the peak (bytes). */
export function sampleRss(pid: number, everyMs = 200): { stop(): number } {
  let peak = treeRssBytes(pid);
  const timer = setInterval(() => (peak = Math.max(peak, treeRssBytes(pid))), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, treeRssBytes(pid));
    },
  };
}

/**
 * How long a process's main thread has waited, runnable, for a CPU since it started (µs): the second
 * field of its schedstat. Time another thread (the process's own helpers, or another process) held the
 * CPU while requests were waiting for it; 0 where there is no /proc.
 */
export function runQueueWaitMicros(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1000;
  } catch {
    return 0; // no /proc (not Linux) or the process has ended
  }
}

/**
 * CPU time (µs) per thread name of one process so far, from /proc/<pid>/task/<tid>/schedstat (ns on the
 * CPU, finer than stat's ticks). Threads of one name are summed: V8's helpers are all `V8Worker`, a
 * worker_thread is named after itself (node 24: `WorkerThread` unless named). Where a request's CPU goes
 * besides the main thread: the store writer, the garbage collector's helpers, libuv's pool.
 */
export function threadCpuMicros(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  const tasks = `/proc/${pid}/task`;
  if (!existsSync(tasks)) return out;
  for (const tid of readdirSync(tasks)) {
    let name: string;
    let ns: number;
    try {
      name = readFileSync(`${tasks}/${tid}/comm`, 'utf8').trim();
      ns = Number(readFileSync(`${tasks}/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      continue; // the thread ended while we listed it
    }
    if (tid === String(pid)) name = 'main';
    out.set(name, (out.get(name) ?? 0) + ns / 1000);
  }
  return out;
}
