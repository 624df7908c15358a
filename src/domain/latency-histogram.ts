/**
 * A fixed latency histogram: every usage analytics cell counts its requests per bucket, so a percentile
 * over any range and any grouping is the same summed counts read back, exact to a bucket.
 *
 * Upper bounds in ms, 1-2-5 per decade: a constant relative error (at most 2.5x within a bucket, far
 * less after interpolation) from cache hits at 1 ms to slow upstreams at 10 s, in 14 integer columns.
 * Past 10 s (the upstream timeout's range) only "slower than 10 s" matters. The bounds never change:
 * the stored counts mean these buckets, and changing them would need a new set of columns.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, Infinity];
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length;

/**
 * The bucket a duration falls in: the first whose upper bound it does not exceed (bounds are
 * inclusive, as Prometheus's `le`). Called per request: a short scan, no allocation.
 */
export function bucketOf(durationMs: number): number {
  const bounds = LATENCY_BOUNDS_MS;
  const last = bounds.length - 1;
  for (let i = 0; i < last; i++) if (durationMs <= bounds[i]!) return i;
  return last;
}

/** Counts of a new cell or sum: one zero per bucket. */
export const emptyHistogram = (): number[] => new Array<number>(LATENCY_BUCKETS).fill(0);

/** Adds `from` into `into`, bucket by bucket. */
export function addHistogram(into: number[], from: readonly number[]): void {
  for (let i = 0; i < LATENCY_BUCKETS; i++) into[i]! += from[i] ?? 0;
}

/**
 * The q-quantile (0..1) of the durations counted, in ms; null when nothing was counted. As
 * Prometheus's histogram_quantile: find the bucket holding the rank q·total, then interpolate
 * linearly between its lower and upper bound, as if its requests were spread evenly across it
 * (the first bucket starts at 0). A rank in the last, unbounded bucket answers the highest finite
 * bound: all that is known is "at least that".
 */
export function quantileOf(counts: readonly number[], q: number): number | null {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return null;
  const rank = Math.min(1, Math.max(0, q)) * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const inBucket = counts[i]!;
    if (inBucket > 0 && below + inBucket >= rank) {
      if (i === LATENCY_BUCKETS - 1) return LATENCY_BOUNDS_MS[i - 1]!;
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const upper = LATENCY_BOUNDS_MS[i]!;
      return lower + ((upper - lower) * (rank - below)) / inBucket;
    }
    below += inBucket;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BUCKETS - 2]!;
}
