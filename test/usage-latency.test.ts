import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bucketOf, emptyHistogram, quantileOf } from '../src/domain/latency-histogram.ts';
import { call, startHarness, TestClock, type Harness } from './support/harness.ts';

/** The harness's upstream answers paths under /slow after 1.5 s, everything else at once. */
const SLOW_MS = 1500;

describe('usage analytics latency percentiles', () => {
  let h: Harness;
  before(async () => {
    // Half a minute into the minute, so `from=1h` (until now, widened to whole minutes) holds it.
    h = await startHarness({}, new TestClock(Date.UTC(2026, 10, 29, 12, 0, 30)));
    await h.admin('POST', '/apis', { name: 'fast', listenPath: '/fast', upstreamUrl: h.upstream.url, auth: { type: 'public', scopes: [] } });
    await h.admin('POST', '/apis', { name: 'slow', listenPath: '/slow', upstreamUrl: `${h.upstream.url}/slow`, auth: { type: 'public', scopes: [] } });
  });
  after(() => h.close());

  test('p50 and p99 come from the histogram of every request in the range: the slow tail in its bucket, the median where the request log puts it', async () => {
    // 97 fast requests and 3 slow ones: the 99th percentile's rank (99 of 100) is among the slow.
    for (let i = 0; i < 97; i++) assert.equal((await call(h, `/fast/items/${i}`)).status, 200);
    const slow = await Promise.all([0, 1, 2].map((i) => call(h, `/slow/items/${i}`)));
    assert.deepEqual(
      slow.map((r) => r.status),
      [200, 200, 200],
    );

    const report = await h.admin('GET', '/usage?from=1h&groupBy=api');
    assert.equal(report.status, 200, JSON.stringify(report.body));
    assert.equal(report.body.totals.requests, 100);
    assert.ok(
      report.body.totals.p99Ms > 1000 && report.body.totals.p99Ms <= 2000,
      `p99 ${report.body.totals.p99Ms} ms in the 1..2 s bucket of a 1.5 s upstream`,
    );
    // The request log holds each request's own duration: its histogram answers the same median.
    await h.gh.requestLog!.flush();
    const log = await h.admin('GET', '/requests?limit=100');
    assert.equal(log.body.items.length, 100);
    const counts = emptyHistogram();
    for (const entry of log.body.items) counts[bucketOf(entry.durationMs)]! += 1;
    assert.equal(report.body.totals.p50Ms, quantileOf(counts, 0.5));
    assert.ok(report.body.totals.p50Ms < SLOW_MS);

    const slowSeries = report.body.series.find((s: any) => s.totals.requests === 3);
    assert.ok(slowSeries.totals.p50Ms > 1000 && slowSeries.totals.p50Ms <= 2000, 'grouped by API, the slow API alone is slow');
    for (const point of slowSeries.points) assert.ok(point.p99Ms > 1000, 'each point has its own percentiles');
  });

  test('a range without requests has no percentiles', async () => {
    const report = await h.admin('GET', '/usage?from=2020-01-01T00:00:00Z&until=2020-01-01T01:00:00Z');
    assert.equal(report.status, 200, JSON.stringify(report.body));
    assert.deepEqual([report.body.totals.requests, report.body.totals.p50Ms, report.body.totals.p99Ms], [0, null, null]);
  });
});
