import { memoryThrottles } from './failure-throttle.ts';
import { SharedTable } from './shared-table.ts';
import { SharedSlotState } from './slot-state.ts';
import { throttleContract } from './throttle-contract.ts';

// The same behaviour whether the TATs live in a Map or in a table shared by gateway workers.
throttleContract('in a Map', () => memoryThrottles());
throttleContract('in a shared table', () => {
  const table = new SharedTable(SharedTable.allocate(1024));
  return memoryThrottles((name) => new SharedSlotState(table, `f:${name}:`));
});
