/**
 * The benchmark's child processes: Node children with an IPC channel (ready/cpu/stop messages, see
 * bench/cpu-report.ts and bench/child-server.ts) and external servers (nginx, HAProxy). Every child is
 * killed when the benchmark exits, whatever way it ends.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processTree } from './machine.ts';
import type { Pinning } from './pinning.ts';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface Child {
  name: string;
  proc: ChildProcess;
  url: string;
}

const started: ChildProcess[] = [];

/** Killed with the benchmark. */
export function track(proc: ChildProcess): ChildProcess {
  started.push(proc);
  return proc;
}

/** SIGKILL to every child and its descendants (nginx's workers outlive a killed master). */
export function killAll(): void {
  const pids = started.filter((proc) => proc.exitCode === null && proc.signalCode === null).flatMap((proc) => processTree(proc.pid!));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAll);

export function nextMessage<T>(proc: ChildProcess, type: string, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no '${type}' message from child ${proc.pid} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: { type: string }) => {
      if (message.type === type) finish(null, message as T);
    };
    const onExit = (code: number | null) => finish(new Error(`child ${proc.pid} exited (${code}) before sending '${type}'`));
    function finish(error: Error | null, message?: T) {
      clearTimeout(timer);
      proc.off('message', onMessage);
      proc.off('exit', onExit);
      if (error) reject(error);
      else resolve(message!);
    }
    proc.on('message', onMessage);
    proc.on('exit', onExit);
  });
}

/**
 * A node child (a script in bench/) with an IPC channel, pinned to `cpuList` when pinning.
 * `BENCH_NODE_FLAGS` (space-separated) adds V8/Node flags that NODE_OPTIONS refuses, e.g. `--trace-gc`;
 * `flags` adds more for this child alone. `tree`: another checkout whose bench/ script runs instead, in it.
 */
export function forkOn(
  pin: Pinning,
  cpuList: string,
  script: string,
  argv: string[],
  options: { tree?: string; flags?: readonly string[]; env?: Readonly<Record<string, string>> } = {},
): ChildProcess {
  const extra = [...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), ...(options.flags ?? [])];
  const [execPath, execArgv] = pin.on(cpuList, process.execPath, ['--disable-warning=ExperimentalWarning', ...extra]);
  const path = options.tree ? join(options.tree, 'bench', script) : join(benchDir, script);
  const env = options.env ? { ...process.env, ...options.env } : undefined;
  return track(fork(path, argv, { execPath, execArgv, env, cwd: options.tree, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
}

/** Node options Gatehouse runs with (bin/gatehouse.js, npm start): every Gatehouse child gets them first; the bare proxy none. */
export const GATEHOUSE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
/** The environment Gatehouse runs with (bin/gatehouse.js, npm start, the Dockerfile): every Gatehouse child gets it; the bare proxy not. */
export const GATEHOUSE_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

export async function startChild<T extends { url: string }>(
  pin: Pinning,
  name: string,
  script: string,
  argv: string[],
  cpuList: string,
  flags: string[] = [],
  env?: Readonly<Record<string, string>>,
): Promise<Child & T> {
  const proc = forkOn(pin, cpuList, script, argv, { flags, env });
  // Ten minutes: a Gatehouse seeded with a million keys (bench/seed.ts storedKeys) takes a few.
  const ready = await nextMessage<T>(proc, 'ready', 600_000);
  return { ...ready, name, proc };
}

export interface Cpu {
  user: number;
  system: number;
}
/** A node child's CPU time so far (process.cpuUsage() over IPC: all threads, µs). */
export async function cpuTime(child: Child): Promise<Cpu> {
  const reply = nextMessage<Cpu>(child.proc, 'cpu');
  child.proc.send({ type: 'cpu' });
  const { user, system } = await reply;
  return { user, system };
}
export const cpuSpent = (from: Cpu, to: Cpu): Cpu => ({ user: to.user - from.user, system: to.system - from.system });
export const total = (cpu: Cpu): number => cpu.user + cpu.system;

/** Stops a node child ({ type: 'stop' }) or, without an IPC channel, an external server (SIGTERM); SIGKILL after 10 s. */
export async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  if (proc.connected) proc.send({ type: 'stop' });
  else proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
