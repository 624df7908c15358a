import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { CellCounter, CellHistogram } from './metric-cells.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const VALUES = [0.0005, 0.001, 0.002, 0.05, 0.05, 0.7, 3, 12];

test("cells render exactly as prom-client's own histogram and counter do with the same observations", async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const cellHistogram = new CellHistogram({ name: 'h_seconds', help: 'help', labelNames: ['api', 'code'] as const, buckets: BUCKETS, registers: [ours] });
  const histogram = new Histogram({ name: 'h_seconds', help: 'help', labelNames: ['api', 'code'], buckets: BUCKETS, registers: [theirs] });
  const cellCounter = new CellCounter({ name: 'c_total', help: 'help "quoted" \\ text', labelNames: ['outcome'] as const, registers: [ours] });
  const counter = new Counter({ name: 'c_total', help: 'help "quoted" \\ text', labelNames: ['outcome'], registers: [theirs] });

  const a = cellHistogram.cell({ api: 'orders', code: '200' });
  const b = cellHistogram.cell({ api: 'we"ird\\na\nme', code: '' });
  for (const v of VALUES) {
    a.observe(v);
    histogram.observe({ api: 'orders', code: '200' }, v);
  }
  b.observe(0.01);
  histogram.observe({ api: 'we"ird\\na\nme', code: '' }, 0.01);
  const forwarded = cellCounter.cell({ outcome: 'FORWARDED' });
  cellCounter.cell({ outcome: 'RATE_LIMITED' });
  forwarded.value += 3;
  counter.inc({ outcome: 'FORWARDED' }, 3);
  counter.inc({ outcome: 'RATE_LIMITED' }, 0);

  assert.equal(await ours.metrics(), await theirs.metrics());
  // The JSON form too, but for prom-client's empty exemplar slots.
  const withoutExemplars = (json: unknown) => JSON.parse(JSON.stringify(json, (k, v: unknown) => (k === 'exemplar' ? undefined : v)));
  assert.deepEqual(withoutExemplars(await ours.getMetricsAsJSON()), withoutExemplars(await theirs.getMetricsAsJSON()));
});
