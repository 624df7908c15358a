import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHarness } from './support/harness.ts';

/** The value of one unlabelled (or exactly labelled) series in a Prometheus text scrape. */
function valueOf(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `${series} is scraped`);
  return Number(line.slice(series.length + 1));
}

test('with gateway workers, /metrics says gatehouse_ready 1 and component_up 1 (not one per thread), and the usage flush lag of one flush', async () => {
  const h = await startHarness({ GATEHOUSE_GATEWAY_WORKERS: '2', GATEHOUSE_USAGE_FLUSH_INTERVAL_SECONDS: '5' });
  try {
    assert.equal(h.gh.health.report().ready, true);
    const text = await (await fetch(`${h.gh.controlUrl}/metrics`)).text();
    // docs/observability/metrics.md: "1 while /readyz answers ready"; alerts compare with 0 and 1.
    assert.equal(valueOf(text, 'gatehouse_ready'), 1);
    assert.equal(valueOf(text, 'gatehouse_component_up{component="store"}'), 1);
    // A few seconds after start, the lag is a few seconds: not that times the number of threads.
    assert.ok(valueOf(text, 'gatehouse_usage_flush_lag_seconds') < 30);
  } finally {
    await h.close();
  }
});
