import assert from 'node:assert/strict';
import { deserialize, serialize } from 'node:v8';
import { describe, test } from 'node:test';
import type { UsageBatch } from './port.ts';
import { fromBatchColumns, toBatchColumns } from './usage-batch-columns.ts';

const T = Date.UTC(2026, 11, 7, 12);

/** What the receiving thread reads: the columns after a structured clone, as postMessage makes one. */
const acrossThreads = (batch: UsageBatch): UsageBatch => fromBatchColumns(deserialize(serialize(toBatchColumns(batch))));

describe('a usage batch crosses between threads as columns and arrives as it was sent', () => {
  test('every field of every row, optional ones present or absent, in order', () => {
    const batch: UsageBatch = {
      keys: [
        { keyId: 'key_a', day: '2026-12-07', requests: 3, lastUsedAt: T, lastUsedFrom: '192.0.2.1' },
        { keyId: 'key_b', day: '2026-12-06', requests: 1, lastUsedAt: T - 1 },
      ],
      quotas: [
        { lineageId: 'key_a', period: '2026-12', delta: 3, limit: 100, resetsAt: T + 9 },
        { lineageId: 'key_b', period: '2026-12', delta: 1 },
        { lineageId: 'key_c', period: '2026-12-07', delta: 2, limit: 0 },
      ],
      counters: [{ counter: 'api_x:app:app_1', period: '2026-12', delta: 4 }],
      addresses: [{ keyId: 'key_a', address: '2001:db8::1', firstSeen: T - 5, lastSeen: T, requests: 3 }],
      addressesPerKey: 10,
      totalsFromPercent: 80,
    };
    assert.deepEqual(acrossThreads(batch), batch);
  });

  test('a batch with no counters, addresses or options stays without them; a threshold of Infinity stays Infinity', () => {
    const bare: UsageBatch = { keys: [], quotas: [{ lineageId: 'key_a', period: '2026-12', delta: 1 }] };
    assert.deepEqual(acrossThreads(bare), bare);
    assert.deepEqual(acrossThreads({ ...bare, totalsFromPercent: Infinity }), { ...bare, totalsFromPercent: Infinity });
  });
});
