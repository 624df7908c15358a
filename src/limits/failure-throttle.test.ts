import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FailureThrottle, memoryThrottles, OVERFLOW_SLOTS } from './failure-throttle.ts';
import { SharedTable } from './shared-table.ts';
import { SharedSlotState } from './slot-state.ts';
import { throttleContract } from './throttle-contract.ts';

// The same behaviour whether the TATs live in a Map or in a table shared by gateway workers.
throttleContract('in a Map', () => memoryThrottles());
throttleContract('in a shared table', () => {
  const table = new SharedTable(SharedTable.allocate(1024));
  return memoryThrottles((name) => new SharedSlotState(table, `f:${name}:`));
});

describe('FailureThrottle over a full shared table', () => {
  const NOW = Date.UTC(2026, 10, 29, 12);
  /** One stripe of 64 slots, every one held by a live entry of another user of the table (a quota, say). */
  const fullTable = () => {
    const table = new SharedTable(SharedTable.allocate(64));
    const other = new SharedSlotState(table, 'quota:');
    for (let i = 0; other.update(`${i}`, NOW, () => NOW + 86_400_000); i++);
    return table;
  };

  test('failures the table has no room for still count: the address is refused after its limit, and no other address is', () => {
    const throttle = FailureThrottle.perAddress(3, 60_000, new SharedSlotState(fullTable(), 'f:'));
    for (let i = 0; i < 3; i++) {
      assert.equal(throttle.blockedFor('192.0.2.1', NOW), 0);
      throttle.recordFailure('192.0.2.1', NOW);
    }
    assert.equal(throttle.blockedFor('192.0.2.1', NOW), 20_000, 'one attempt per window/limit, as with room');
    assert.equal(throttle.blockedFor('192.0.2.2', NOW), 0, 'an address that did not fail is not refused');
    throttle.forget('192.0.2.1');
    assert.equal(throttle.blockedFor('192.0.2.1', NOW), 0, 'forget clears it');
  });

  test('the failures counted without room are forgotten by a sweep once they throttle nothing', () => {
    const throttle = new FailureThrottle(1, 60_000, undefined, new SharedSlotState(fullTable(), 'f:'));
    throttle.recordFailure('a', NOW);
    throttle.sweep(NOW + 59_999);
    assert.equal(throttle.blockedFor('a', NOW + 59_999), 1);
    throttle.sweep(NOW + 60_000);
    assert.equal(throttle.blockedFor('a', NOW + 60_000), 0);
  });

  test('failures from ever new addresses while the table is full are remembered for at most OVERFLOW_SLOTS addresses, the stalest forgotten first', () => {
    // An attacker failing from a new address each time (an IPv6 /48 holds 65,536 /64s) must not grow the
    // thread's own memory without end while the shared table has no room.
    const throttle = FailureThrottle.perAddress(1, 60_000, new SharedSlotState(fullTable(), 'f:'));
    const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    for (let i = 0; i < OVERFLOW_SLOTS; i++) throttle.recordFailure(address(i), NOW);
    assert.ok(throttle.blockedFor(address(0), NOW) > 0, 'all of them still counted');
    throttle.recordFailure(address(OVERFLOW_SLOTS), NOW + 1);
    assert.equal(throttle.blockedFor(address(0), NOW + 1), 0, 'the stalest is forgotten to make room');
    assert.ok(throttle.blockedFor(address(1), NOW + 1) > 0, 'the others are kept');
    assert.ok(throttle.blockedFor(address(OVERFLOW_SLOTS), NOW + 1) > 0, 'the newest is counted');
  });
});
