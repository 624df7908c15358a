import assert from 'node:assert/strict';
import { test } from 'node:test';
import { heapFlags } from './heap-tuning.ts';

test("pretenuring is always off, and the growth factor is the configured one (0: V8's own, set back)", () => {
  assert.deepEqual(heapFlags({ heapGrowthPercent: 30 }, ['--max-semi-space-size=8']), ['--no-allocation-site-pretenuring', '--heap-growing-percent=30']);
  assert.deepEqual(heapFlags({ heapGrowthPercent: 0 }, []), ['--no-allocation-site-pretenuring', '--heap-growing-percent=0']);
  assert.deepEqual(heapFlags({}, []), ['--no-allocation-site-pretenuring', '--heap-growing-percent=0']);
});

test('a growth factor given to Node itself wins over the configured one', () => {
  for (const given of ['--heap-growing-percent=80', '--heap_growing_percent=80', '--heap-growing-percent'])
    assert.deepEqual(heapFlags({ heapGrowthPercent: 50 }, [given]), ['--no-allocation-site-pretenuring'], given);
});
