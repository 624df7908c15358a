import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addHistogram, bucketOf, emptyHistogram, LATENCY_BOUNDS_MS, LATENCY_BUCKETS, quantileOf } from './latency-histogram.ts';

/** A histogram with `n` requests in the bucket of each duration given. */
function histogram(...entries: [durationMs: number, n: number][]): number[] {
  const counts = emptyHistogram();
  for (const [ms, n] of entries) counts[bucketOf(ms)]! += n;
  return counts;
}

describe('latency histogram', () => {
  test('a duration falls in the first bucket whose upper bound it does not exceed', () => {
    assert.equal(bucketOf(0), 0);
    assert.equal(bucketOf(1), 0);
    assert.equal(bucketOf(1.001), 1);
    assert.equal(bucketOf(7), 3);
    assert.equal(bucketOf(100), 6);
    assert.equal(bucketOf(10_000), 12);
    assert.equal(bucketOf(10_000.5), 13);
    assert.equal(bucketOf(1e9), LATENCY_BUCKETS - 1);
  });

  test('bounds rise, and the last is unbounded so every duration has a bucket', () => {
    for (let i = 1; i < LATENCY_BUCKETS; i++) assert.ok(LATENCY_BOUNDS_MS[i]! > LATENCY_BOUNDS_MS[i - 1]!);
    assert.equal(LATENCY_BOUNDS_MS.at(-1), Infinity);
  });

  test('no requests have no quantile', () => {
    assert.equal(quantileOf(emptyHistogram(), 0.5), null);
  });

  test('a quantile is interpolated linearly inside the bucket holding its rank', () => {
    // 10 requests in 20..50 ms: the median's rank 5 is half-way through the bucket.
    assert.equal(quantileOf(histogram([30, 10]), 0.5), 35);
    // 90 fast, 10 slow: p50 among the fast (0..1 ms), p99 nine tenths into 200..500 ms.
    const mixed = histogram([0.5, 90], [300, 10]);
    assert.equal(quantileOf(mixed, 0.5), 50 / 90);
    assert.equal(quantileOf(mixed, 0.99), 200 + 300 * 0.9);
  });

  test('a rank in the unbounded bucket answers the highest finite bound', () => {
    assert.equal(quantileOf(histogram([50_000, 3]), 0.99), 10_000);
  });

  test('histograms add bucket by bucket, so a sum answers for the whole range', () => {
    const sum = emptyHistogram();
    addHistogram(sum, histogram([3, 2]));
    addHistogram(sum, histogram([3, 1], [700, 1]));
    assert.deepEqual(sum, histogram([3, 3], [700, 1]));
  });
});
