import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mayWantTotal, reachesPercent, totalWanted } from './quota-threshold.ts';

describe('quota thresholds', () => {
  test('a percent is reached at its rounded-up share of the limit', () => {
    assert.equal(reachesPercent(79, 99, 80), false);
    assert.equal(reachesPercent(80, 99, 80), true);
    assert.equal(reachesPercent(100, 100, 100), true);
  });

  test('without a percent every total is wanted', () => {
    assert.equal(totalWanted(undefined, undefined, 0), true);
    assert.equal(mayWantTotal(undefined, undefined), true);
  });

  test('a store that skips reading a total back never skips one that was wanted', () => {
    const percents = [undefined, 0, 50, 80, 100, Infinity];
    const limits = [undefined, 0, 1, 10, 1000];
    const uses = [0, 1, 5, 8, 10, 800, 1000, 5000];
    for (const p of percents) {
      for (const limit of limits) {
        const wantedFor = uses.filter((used) => totalWanted(p, limit, used));
        if (!mayWantTotal(p, limit)) assert.deepEqual(wantedFor, [], `percent ${p}, limit ${limit}`);
      }
    }
  });

  test('a batch with no listener (Infinity) or a lineage with no limit reads no total back', () => {
    assert.equal(mayWantTotal(Infinity, 1000), false);
    assert.equal(mayWantTotal(80, undefined), false);
    assert.equal(mayWantTotal(80, 0), false);
    assert.equal(mayWantTotal(80, 1000), true);
  });
});
