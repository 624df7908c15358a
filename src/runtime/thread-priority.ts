import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** What became of a request to lower this thread's priority: data for the caller to report, never a throw. */
export type PriorityChange = { changed: true; tid: number; nice: number } | { changed: false; reason: string };

/**
 * Gives the calling thread a higher nice value (a lower scheduling priority) than the process's other
 * threads, for background threads (the store's writer) that share CPUs with the request path: when
 * both are ready to run, the gateway's thread is chosen, and the background work runs in its idle
 * time. Linux only: each thread is a task with its own nice value (setpriority(2), NOTES), and
 * /proc/thread-self names this one; elsewhere nothing changes and the reason says so.
 */
export function lowerThisThreadPriority(nice: number): PriorityChange {
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
  } catch (error) {
    return { changed: false, reason: `no /proc/thread-self (${(error as NodeJS.ErrnoException).code ?? 'unknown'}): thread priorities are left as they are` };
  }
  try {
    setPriority(tid, nice);
    return { changed: true, tid, nice };
  } catch (error) {
    return { changed: false, reason: `setpriority(${tid}, ${nice}) failed: ${(error as Error).message}` };
  }
}
