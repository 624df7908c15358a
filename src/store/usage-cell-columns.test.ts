import assert from 'node:assert/strict';
import { deserialize, serialize } from 'node:v8';
import { describe, test } from 'node:test';
import { LATENCY_BUCKETS } from '../domain/latency-histogram.ts';
import type { UsageCell } from './port.ts';
import { fromCellColumns, toCellColumns } from './usage-cell-columns.ts';

const T = Date.UTC(2026, 11, 7, 12, 3);
const histogram = (seed: number) => Array.from({ length: LATENCY_BUCKETS }, (_, i) => (i * seed) % 7);

describe("usage analytics' cells cross between threads as columns and arrive as they were sent", () => {
  test('every field of every cell, "none" dimensions as null, each histogram its own', () => {
    const cells: UsageCell[] = [
      {
        minute: T,
        apiId: 'api_a',
        route: 'GET /orders',
        keyId: 'key_a',
        appId: 'app_a',
        statusClass: '2xx',
        denialCode: null,
        requests: 3,
        bytesIn: 10,
        bytesOut: 900,
        durationUs: 4321,
        latency: histogram(1),
      },
      {
        minute: T - 60_000,
        apiId: null,
        route: null,
        keyId: null,
        appId: null,
        statusClass: '4xx',
        denialCode: 'NO_ROUTE',
        requests: 1,
        bytesIn: 0,
        bytesOut: 120,
        durationUs: 17,
        latency: histogram(3),
      },
    ];
    assert.deepEqual(fromCellColumns(deserialize(serialize(toCellColumns(cells)))), cells);
    assert.deepEqual(fromCellColumns(deserialize(serialize(toCellColumns([])))), []);
  });

  test('a cell whose histogram has the wrong number of buckets is refused, not shifted into its neighbour', () => {
    const cell: UsageCell = {
      minute: T,
      apiId: 'api_a',
      route: null,
      keyId: null,
      appId: null,
      statusClass: '5xx',
      denialCode: null,
      requests: 1,
      bytesIn: 0,
      bytesOut: 0,
      durationUs: 1,
      latency: [1],
    };
    assert.throws(() => toCellColumns([cell]), /latency histogram has 1 buckets/);
  });
});
