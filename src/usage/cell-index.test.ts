import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { emptyHistogram } from '../domain/latency-histogram.ts';
import type { StatusClass, UsageCell } from '../store/port.ts';
import { CellIndex } from './cell-index.ts';

const cell = (
  keyId: string | null,
  appId: string | null,
  denialCode: string | null,
  statusClass: StatusClass,
  apiId: string | null = 'api_1',
  route: string | null = '/r',
): UsageCell => ({
  minute: 0,
  apiId,
  route,
  keyId,
  appId,
  statusClass,
  denialCode,
  requests: 0,
  bytesIn: 0,
  bytesOut: 0,
  durationUs: 0,
  latency: emptyHistogram(),
});

describe('CellIndex', () => {
  test('finds each cell by its whole combination, and nothing for a combination it does not hold', () => {
    const index = new CellIndex();
    const cells = [
      cell('key_1', 'app_1', null, '2xx'),
      cell('key_1', 'app_1', 'RATE_LIMITED', '4xx'),
      cell('key_1', 'app_1', null, '5xx'),
      cell('key_2', 'app_1', null, '2xx'),
      // Without a key: by app, and with no app at all.
      cell(null, 'app_1', null, '2xx'),
      cell(null, 'app_2', null, '2xx'),
      cell(null, null, 'UNAUTHENTICATED', '4xx'),
      cell(null, null, null, '0', null, null),
      cell('key_1', 'app_1', null, '2xx', 'api_2'),
      cell('key_1', 'app_1', null, '2xx', 'api_1', '/other'),
    ];
    for (const c of cells) {
      assert.equal(index.find(c.apiId, c.route, c.keyId, c.appId, c.denialCode, c.statusClass), undefined);
      index.add(c);
    }
    for (const c of cells) assert.equal(index.find(c.apiId, c.route, c.keyId, c.appId, c.denialCode, c.statusClass), c);
    assert.equal(index.find('api_1', '/r', 'key_1', 'app_1', null, '4xx'), undefined);
    assert.equal(index.find('api_1', '/r', 'key_1', 'app_2', null, '2xx'), undefined, 'a key cell is found only with its app');
    assert.equal(index.find('api_1', '/r', null, 'app_3', null, '2xx'), undefined);
    assert.equal(index.find('api_1', '/r', 'key_1', 'app_1', 'QUOTA_EXCEEDED', '4xx'), undefined);
  });

  test('after clear it holds nothing', () => {
    const index = new CellIndex();
    const c = cell('key_1', 'app_1', null, '2xx');
    index.add(c);
    index.clear();
    assert.equal(index.find(c.apiId, c.route, c.keyId, c.appId, c.denialCode, c.statusClass), undefined);
  });
});
