import { setFlagsFromString } from 'node:v8';

/**
 * Turns off V8's allocation-site pretenuring for the whole process (its gateway worker threads too:
 * V8's flags are per process). Why (docs/benchmarks.md, "Scavenges of 20-40 ms"): V8 decides per
 * allocation site to allocate straight into the old generation when most of a site's objects survive
 * a scavenge. In a gateway process some of undici's and node:http's per-request sites get that
 * decision (start-up, the control plane and the data plane share them), after which every request's
 * header buffers and records are born old: about 2.5 KB per request promoted, scavenges of 20-40 ms
 * instead of 2 and a major GC every few seconds, whatever the load. Without pretenuring a request's
 * objects die young, as in a bare proxy; long-lived tables are copied once more on their way to the
 * old generation, which is the whole cost.
 *
 * V8 reads this flag when it allocates and collects, so setting it at start takes effect (measured);
 * idempotent, so every Gatehouse started in one process (tests) may call it.
 */
export function tuneHeapForProxying(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
