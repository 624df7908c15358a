import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FailureThrottle } from './failure-throttle.ts';
import { SharedTable } from './shared-table.ts';
import { MapSlotState, SharedSlotState, type SlotState } from './slot-state.ts';

const NOW = Date.UTC(2026, 10, 29, 12);

// The same behaviour whether the TATs live in a Map or in a table shared by gateway workers.
const states: [string, () => SlotState][] = [
  ['in a Map', () => new MapSlotState()],
  ['in a shared table', () => new SharedSlotState(new SharedTable(SharedTable.allocate(1024)), 'f:')],
];

for (const [where, state] of states)
  describe(`FailureThrottle, ${where}`, () => {
    test('a slot is refused after its limit, then gets one attempt per window/limit', () => {
      const t = new FailureThrottle(5, 900_000, undefined, state());
      for (let i = 0; i < 5; i++) {
        assert.equal(t.blockedFor('a', NOW), 0);
        t.recordFailure('a', NOW);
      }
      assert.equal(t.blockedFor('a', NOW), 180_000);
      assert.equal(t.blockedFor('b', NOW), 0, 'other slots are untouched');
      assert.equal(t.blockedFor('a', NOW + 180_000), 0);
    });

    test('forget clears a slot at once', () => {
      const t = new FailureThrottle(2, 60_000, undefined, state());
      t.recordFailure('a', NOW);
      t.recordFailure('a', NOW);
      assert.ok(t.blockedFor('a', NOW) > 0);
      t.forget('a');
      assert.equal(t.blockedFor('a', NOW), 0);
    });

    test('per address: an IPv6 /64 is one address, so a host cannot rotate through its own prefix', () => {
      const t = FailureThrottle.perAddress(3, 60_000, state());
      t.recordFailure('2001:db8:1:2::1', NOW);
      t.recordFailure('2001:db8:1:2:aaaa::7', NOW);
      t.recordFailure('2001:0db8:0001:0002:ffff:ffff:ffff:ffff', NOW);
      assert.ok(t.blockedFor('2001:db8:1:2::99', NOW) > 0);
      assert.equal(t.blockedFor('2001:db8:1:3::1', NOW), 0, 'the next /64 is another address');
    });

    test('per address: IPv4 addresses count alone, and IPv4-mapped IPv6 counts as the IPv4 address', () => {
      const t = FailureThrottle.perAddress(2, 60_000, state());
      t.recordFailure('192.0.2.1', NOW);
      t.recordFailure('::ffff:192.0.2.1', NOW);
      assert.ok(t.blockedFor('192.0.2.1', NOW) > 0);
      assert.equal(t.blockedFor('192.0.2.2', NOW), 0);
    });
  });
