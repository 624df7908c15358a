import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedTable } from '../limits/shared-table.ts';
import { SharedSlotState } from '../limits/slot-state.ts';
import { replaySetContract } from './replay-set-contract.ts';
import { MemoryReplaySet } from './replay-set.ts';

replaySetContract('in a Map', () => new MemoryReplaySet());
replaySetContract('in a shared table', () => new MemoryReplaySet(new SharedSlotState(new SharedTable(SharedTable.allocate(1024)), 'dpop:')));

const NOW = Date.UTC(2026, 10, 29, 12);

test('in memory, an id is forgotten once its time has come, and first again', () => {
  const set = new MemoryReplaySet();
  assert.equal(set.firstUse('jkt:jti', NOW, NOW + 1000), 'first');
  set.sweep(NOW + 1000);
  assert.equal(set.firstUse('jkt:jti', NOW + 1000, NOW + 2000), 'first');
});
