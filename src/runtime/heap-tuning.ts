import { setFlagsFromString } from 'node:v8';

/**
 * V8 flags for a gateway process, set once at start (they are per process: gateway worker threads
 * get them too). V8 reads both when it allocates and collects, so setting them at start takes effect
 * (measured); idempotent, so every Gatehouse started in one process (tests) may call it.
 *
 * Allocation-site pretenuring, off. Why (docs/benchmarks.md, "Scavenges of 20-40 ms"): V8 decides
 * per allocation site to allocate straight into the old generation when most of a site's objects
 * survive a scavenge. In a gateway process some of undici's and node:http's per-request sites get that
 * decision (start-up, the control plane and the data plane share them), after which every request's
 * header buffers and records are born old: about 2.5 KB per request promoted, scavenges of 20-40 ms
 * instead of 2 and a major GC every few seconds, whatever the load. Without pretenuring a request's
 * objects die young, as in a bare proxy; long-lived tables are copied once more on their way to the
 * old generation, which is the whole cost.
 *
 * The old generation's growth factor (gateway.heapGrowthPercent, default 30 %; 0 leaves V8's own):
 * V8 otherwise sizes the next limit by how fast its collector runs, two to four times the live heap,
 * and with 100,000 hot keys that slack was most of Gatehouse's RSS over a bare proxy. Unless Node was
 * given one itself (an operator's explicit flag wins).
 */
export function tuneHeapForProxying(options: { heapGrowthPercent?: number } = {}, execArgv: readonly string[] = process.execArgv): void {
  for (const flag of heapFlags(options, execArgv)) setFlagsFromString(flag);
}

/** The flags tuneHeapForProxying sets, given the process's own Node options. */
export function heapFlags(options: { heapGrowthPercent?: number }, execArgv: readonly string[]): string[] {
  const flags = ['--no-allocation-site-pretenuring'];
  const givenToNode = execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg));
  // Set even when 0 (V8's own factor), so a Gatehouse started after another in one process (tests) gets its own.
  if (!givenToNode) flags.push(`--heap-growing-percent=${options.heapGrowthPercent ?? 0}`);
  return flags;
}
