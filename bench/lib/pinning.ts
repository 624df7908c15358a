import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

/**
 * CPU pinning (Linux, taskset, 2+ CPUs): the process under test gets the last CPU to itself, the upstream
 * and the load generators share the others. It keeps the target from migrating and from sharing its core
 * with the load it is measured under, which makes the runs repeatable.
 */
export interface Pinning {
  enabled: boolean;
  /** The CPU list the process under test runs on. */
  targetCpus: string;
  /** The CPU list the upstream and the load generators run on. */
  loadCpus: string;
  /** Command and arguments that run `file argv` on `cpuList` when pinning (taskset execs it in place: same PID). */
  on(cpuList: string, file: string, argv: string[]): [string, string[]];
}

export function pinning(wanted: boolean): Pinning {
  const n = cpus().length;
  const enabled = wanted && n >= 2 && !spawnSync('taskset', ['-c', '0', 'true']).error;
  return {
    enabled,
    targetCpus: String(n - 1),
    loadCpus: n === 2 ? '0' : `0-${n - 2}`,
    on: (cpuList, file, argv) => (enabled ? ['taskset', ['-c', cpuList, file, ...argv]] : [file, argv]),
  };
}

/** Every CPU, for a target that spreads over cores itself (`gateway.workers`). */
export const ALL_CPUS = (): string => `0-${cpus().length - 1}`;
