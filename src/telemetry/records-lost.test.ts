import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatehouseMetrics } from './metrics.ts';

test('gatehouse_records_lost_total counts what the request log and analytics dropped, by reason: a full buffer, or refused by the store', async () => {
  const metrics = new GatehouseMetrics({ perKeyLabels: false });
  metrics.countLosses({ requestLog: { dropped: () => 1, refused: () => 2 }, analytics: { dropped: () => 3, refused: () => 4 } });
  const text = await metrics.registry.metrics();
  assert.match(text, /^gatehouse_records_lost_total\{log="request_log",reason="buffer_full"\} 1$/m);
  assert.match(text, /^gatehouse_records_lost_total\{log="request_log",reason="refused"\} 2$/m);
  assert.match(text, /^gatehouse_records_lost_total\{log="analytics",reason="buffer_full"\} 3$/m);
  assert.match(text, /^gatehouse_records_lost_total\{log="analytics",reason="refused"\} 4$/m);
});
