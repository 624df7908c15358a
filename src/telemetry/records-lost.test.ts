import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageRecorder } from '../usage/usage-recorder.ts';
import { GatehouseMetrics, lostRecordsIn } from './metrics.ts';

test('gatehouse_records_lost_total counts what the request log and analytics dropped, by reason: a full buffer, refused by the store, or left by a failed last flush at stop', async () => {
  const metrics = new GatehouseMetrics({ perKeyLabels: false });
  metrics.countLosses({
    requestLog: { dropped: () => 1, refused: () => 2, lastFlushLost: () => 5 },
    analytics: { dropped: () => 3, refused: () => 4, lastFlushLost: () => 6 },
    usage: null,
  });
  const text = await metrics.registry.metrics();
  assert.match(text, /^gatehouse_records_lost_total\{log="request_log",reason="buffer_full"\} 1$/m);
  assert.match(text, /^gatehouse_records_lost_total\{log="request_log",reason="refused"\} 2$/m);
  assert.match(text, /^gatehouse_records_lost_total\{log="analytics",reason="buffer_full"\} 3$/m);
  assert.match(text, /^gatehouse_records_lost_total\{log="analytics",reason="refused"\} 4$/m);
  assert.match(text, /^gatehouse_records_lost_total\{log="request_log",reason="last_flush_failed"\} 5$/m);
  assert.match(text, /^gatehouse_records_lost_total\{log="analytics",reason="last_flush_failed"\} 6$/m);
});

test('gatehouse_records_lost_total counts the usage a failed last flush at stop left (log="usage")', async () => {
  const metrics = new GatehouseMetrics({ perKeyLabels: false });
  const usage = new UsageRecorder({
    record: async () => {
      throw new Error('the main thread could not take the counts');
    },
  });
  metrics.countLosses({ requestLog: null, analytics: null, usage });
  assert.match(await metrics.registry.metrics(), /^gatehouse_records_lost_total\{log="usage",reason="last_flush_failed"\} 0$/m);
  const key = { id: 'key_1' };
  for (let i = 0; i < 3; i++) usage.hit(key, Date.UTC(2026, 10, 29), null);
  await assert.rejects(usage.stop(), /3 requests not counted in usage/);
  assert.match(await metrics.registry.metrics(), /^gatehouse_records_lost_total\{log="usage",reason="last_flush_failed"\} 3$/m);
});

test('gatehouse_records_lost_total counts the per-app and per-user quota counter uses a failed last flush at stop left (log="usage_counters")', async () => {
  const metrics = new GatehouseMetrics({ perKeyLabels: false });
  const usage = new UsageRecorder({
    record: async () => {
      throw new Error('the main thread could not take the counts');
    },
  });
  metrics.countLosses({ requestLog: null, analytics: null, usage });
  assert.match(await metrics.registry.metrics(), /^gatehouse_records_lost_total\{log="usage_counters",reason="last_flush_failed"\} 0$/m);
  // Two bearer requests with no API key, each counted per app and per user; one more per app only.
  for (let i = 0; i < 2; i++) (usage.count('api:a:q:app:app_1', '2026-11'), usage.count('api:a:q:user:u_1', '2026-11'));
  usage.count('api:a:q:app:app_1', '2026-11');
  await assert.rejects(usage.stop(), /^Error: 0 requests and 5 per-app or per-user quota uses not counted in usage: their last flush failed/);
  const text = await metrics.registry.metrics();
  assert.match(text, /^gatehouse_records_lost_total\{log="usage_counters",reason="last_flush_failed"\} 5$/m);
  assert.match(text, /^gatehouse_records_lost_total\{log="usage",reason="last_flush_failed"\} 0$/m);
});

test("gatehouse_records_lost_total keeps what exited gateway workers lost (told at their stop, or last scraped), added to the thread's own", async () => {
  const worker = new GatehouseMetrics({ perKeyLabels: false });
  worker.countLosses({
    requestLog: { dropped: () => 2, refused: () => 0, lastFlushLost: () => 3 },
    analytics: { dropped: () => 1, refused: () => 0, lastFlushLost: () => 0 },
    usage: null,
  });
  const lastScraped = lostRecordsIn(await worker.registry.getMetricsAsJSON());
  assert.deepEqual(lastScraped, {
    requestLogDropped: 2,
    requestLogRefused: 0,
    requestLogLastFlushLost: 3,
    analyticsDropped: 1,
    analyticsRefused: 0,
    analyticsLastFlushLost: 0,
  });
  const main = new GatehouseMetrics({ perKeyLabels: false });
  main.countLosses({ requestLog: { dropped: () => 5, refused: () => 0, lastFlushLost: () => 1 }, analytics: null, usage: null });
  main.addWorkerLosses(lastScraped);
  main.addWorkerLosses({ requestLogDropped: 1, usageCounterUsesDropped: 4 });
  const text = await main.registry.metrics();
  assert.match(text, /^gatehouse_records_lost_total\{log="request_log",reason="buffer_full"\} 8$/m);
  assert.match(text, /^gatehouse_records_lost_total\{log="request_log",reason="last_flush_failed"\} 4$/m);
  assert.match(text, /^gatehouse_records_lost_total\{log="analytics",reason="buffer_full"\} 1$/m);
  assert.match(text, /^gatehouse_records_lost_total\{log="usage_counters",reason="last_flush_failed"\} 4$/m);
});
