import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LATENCY_BUCKETS } from '../domain/latency-histogram.ts';
import type { StatusClass } from '../store/port.ts';
import { CellTable } from './cell-table.ts';

type Combination = [apiId: string | null, route: string | null, keyId: string | null, appId: string | null, denial: string | null, statusClass: StatusClass];
const T0 = Date.UTC(2026, 11, 5, 10);

const histogram = (bucket: number, n: number): number[] => Array.from({ length: LATENCY_BUCKETS }, (_, b) => (b === bucket ? n : 0));

describe('CellTable', () => {
  test('finds each cell by its whole combination, and nothing for a combination it does not hold', () => {
    const table = new CellTable();
    const combinations: Combination[] = [
      ['api_1', '/r', 'key_1', 'app_1', null, '2xx'],
      ['api_1', '/r', 'key_1', 'app_1', 'RATE_LIMITED', '4xx'],
      ['api_1', '/r', 'key_1', 'app_1', null, '5xx'],
      ['api_1', '/r', 'key_2', 'app_1', null, '2xx'],
      // Without a key: by app, and with no app at all.
      ['api_1', '/r', null, 'app_1', null, '2xx'],
      ['api_1', '/r', null, 'app_2', null, '2xx'],
      ['api_1', '/r', null, null, 'UNAUTHENTICATED', '4xx'],
      [null, null, null, null, null, '0'],
      ['api_2', '/r', 'key_1', 'app_1', null, '2xx'],
      ['api_1', '/other', 'key_1', 'app_1', null, '2xx'],
    ];
    const cells = combinations.map((c) => {
      assert.equal(table.find(...c), -1);
      return table.add(T0, ...c);
    });
    assert.deepEqual(
      combinations.map((c) => table.find(...c)),
      cells,
    );
    assert.equal(new Set(cells).size, cells.length, 'each combination its own cell');
    assert.equal(table.find('api_1', '/r', 'key_1', 'app_1', null, '4xx'), -1);
    assert.equal(table.find('api_1', '/r', 'key_1', 'app_2', null, '2xx'), -1, 'a key cell is found only with its app');
    assert.equal(table.find('api_1', '/r', null, 'app_3', null, '2xx'), -1);
    assert.equal(table.find('api_1', '/r', 'key_1', 'app_1', 'QUOTA_EXCEEDED', '4xx'), -1);
  });

  test('a cell counts requests, bytes, microseconds and latency buckets; take answers them with its dimensions and zeroes them', () => {
    const table = new CellTable();
    const cell = table.add(T0, 'api_1', '/r', 'key_1', 'app_1', 'RATE_LIMITED', '4xx');
    table.count(cell, 5, 10, 1234, 1);
    table.count(cell, 7, 20, 2000, 1);
    table.addCounts(cell, { ...table.take(table.add(T0, 'api_1', '/r', 'key_2', 'app_1', null, '2xx')), requests: 3, bytesIn: 1, latency: histogram(13, 3) });
    assert.deepEqual(table.withCounts(), [cell]);
    assert.deepEqual(table.take(cell), {
      minute: T0,
      apiId: 'api_1',
      route: '/r',
      keyId: 'key_1',
      appId: 'app_1',
      statusClass: '4xx',
      denialCode: 'RATE_LIMITED',
      requests: 5,
      bytesIn: 13,
      bytesOut: 30,
      durationUs: 3234,
      latency: histogram(1, 2).map((n, b) => (b === 13 ? 3 : n)),
    });
    assert.equal(table.requests(cell), 0);
    assert.deepEqual(table.withCounts(), []);
    assert.equal(table.minute(cell), T0, 'the minute stays with the cell');
  });

  test('past its first rows it grows, keeping every cell and its counts', () => {
    const table = new CellTable();
    const cells = Array.from({ length: 5000 }, (_, i) => {
      const cell = table.add(T0 + i, 'api_1', '/r', `key_${i}`, 'app_1', null, '2xx');
      for (let n = 0; n <= i % 3; n++) table.count(cell, i, 0, 1, i % LATENCY_BUCKETS);
      return cell;
    });
    for (const [i, cell] of cells.entries()) {
      assert.equal(table.find('api_1', '/r', `key_${i}`, 'app_1', null, '2xx'), cell);
      const taken = table.take(cell);
      assert.deepEqual(
        [taken.minute, taken.requests, taken.bytesIn, taken.latency],
        [T0 + i, (i % 3) + 1, i * ((i % 3) + 1), histogram(i % LATENCY_BUCKETS, (i % 3) + 1)],
      );
    }
  });

  test('retain keeps the cells asked for, numbered anew, each still found with its counts; the others are gone', () => {
    const table = new CellTable();
    for (let i = 0; i < 6; i++) {
      const cell = table.add(T0 + i, 'api_1', '/r', `key_${i}`, 'app_1', null, '2xx');
      table.count(cell, i, 0, 0, 0);
    }
    table.retain((cell) => table.minute(cell) % 2 === 1);
    assert.equal(table.size, 3);
    for (let i = 0; i < 6; i++) {
      const cell = table.find('api_1', '/r', `key_${i}`, 'app_1', null, '2xx');
      if (i % 2 === 0) assert.equal(cell, -1);
      else assert.deepEqual([cell, table.minute(cell), table.take(cell).bytesIn], [(i - 1) / 2, T0 + i, i]);
    }
    const added = table.add(T0, 'api_1', '/r', 'key_0', 'app_1', null, '2xx');
    assert.equal(added, 3, 'a new cell takes the next number, with nothing counted');
    assert.equal(table.requests(added), 0);
  });

  test('after clear it holds nothing', () => {
    const table = new CellTable();
    table.count(table.add(T0, 'api_1', '/r', 'key_1', 'app_1', null, '2xx'), 1, 1, 1, 0);
    table.clear();
    assert.equal(table.size, 0);
    assert.equal(table.find('api_1', '/r', 'key_1', 'app_1', null, '2xx'), -1);
    assert.deepEqual(table.withCounts(), []);
  });
});
