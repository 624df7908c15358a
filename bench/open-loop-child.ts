/**
 * Open-loop load at a fixed offered rate (what wrk2 does): requests are issued on a schedule whatever
 * the answers, over a keep-alive undici Pool, and each latency is measured with a µs clock from the
 * moment the request was issued to the end of its body. (autocannon's -R sends each connection's
 * per-second allowance back to back at the top of every second, and records latency in whole
 * milliseconds, too coarse for loopback.)
 * Takes { type: 'options', options: { url, path, headers, rate, durationMs, warmupMs, connections } }
 * over IPC (thousands of keys do not fit in argv), where `headers` is one
 * set or a list that the requests take in turn (many API keys, all active). Sends the result to the
 * parent over IPC and exits.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';

interface Options {
  url: string;
  path: string;
  headers: Record<string, string> | Record<string, string>[];
  rate: number;
  durationMs: number;
  warmupMs: number;
  connections: number;
}
export interface OpenLoopResult {
  issued: number;
  completed: number;
  /** Including the warm-up's. */
  completedTotal: number;
  non2xx: number;
  errors: number;
  /** Of the errors: requests that failed (connection error, reset), not merely unanswered yet. */
  failed: number;
  /** Of the errors: still unanswered 10 s after the last was issued (the target was saturated at this rate). */
  unanswered: number;
  statuses: Record<string, number>;
  achievedRate: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** p99 of this load generator's own event-loop delay: if high, its latencies are inflated by itself. */
  generatorLoopDelayP99Ms: number;
}

const options = await new Promise<Options>((resolve) => process.once('message', (message: { options: Options }) => resolve(message.options)));
const headerSets = Array.isArray(options.headers) ? options.headers : [options.headers];
let nextSet = 0;
const pool = new Pool(options.url, { connections: options.connections, pipelining: 1, keepAliveTimeout: 60_000 });

async function phase(durationMs: number, record: boolean): Promise<OpenLoopResult> {
  const total = Math.round((options.rate * durationMs) / 1000);
  const latencies = new Float64Array(total);
  const statuses: Record<string, number> = {};
  let issued = 0;
  let completed = 0;
  let non2xx = 0;
  let failed = 0;
  let settled = 0;
  let lastEnd = 0;
  let allSettled: () => void;
  const finished = new Promise<void>((resolve) => (allSettled = resolve));
  const settle = () => {
    if (++settled === total) allSettled();
  };
  const fire = () => {
    const t0 = performance.now();
    pool.request({ path: options.path, method: 'GET', headers: headerSets[nextSet++ % headerSets.length] }).then(
      async ({ statusCode, body }) => {
        await body.arrayBuffer();
        const end = performance.now();
        lastEnd = end;
        if (record) latencies[completed] = end - t0;
        completed++;
        statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
        if (statusCode < 200 || statusCode > 299) non2xx++;
        settle();
      },
      () => {
        failed++;
        settle();
      },
    );
  };
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * options.rate) / 1000));
      while (issued < due) {
        issued++;
        fire();
      }
      if (issued >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.race([finished, new Promise((r) => setTimeout(r, 10_000))]);
  loopDelay.disable();
  const sorted = latencies.subarray(0, completed).sort();
  const pct = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
  return {
    issued,
    completed,
    completedTotal: completed,
    non2xx,
    errors: issued - completed, // errored, or still unanswered 10 s after the last was issued
    failed,
    unanswered: issued - completed - failed,
    statuses,
    achievedRate: completed / ((lastEnd - start) / 1000),
    p50Ms: pct(50),
    p90Ms: pct(90),
    p99Ms: pct(99),
    maxMs: pct(100),
    generatorLoopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  };
}

const warmup = options.warmupMs > 0 ? await phase(options.warmupMs, false) : null;
const result = await phase(options.durationMs, true);
// Failures during the warm-up count too: every answer must have been a 2xx.
if (warmup) {
  result.non2xx += warmup.non2xx;
  result.errors += warmup.errors;
  result.failed += warmup.failed;
  result.unanswered += warmup.unanswered;
  result.completedTotal += warmup.completed;
}
await pool.close();
process.send!({ type: 'result', result }, () => process.exit(0));
