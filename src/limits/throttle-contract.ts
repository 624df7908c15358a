import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ThrottleFactory } from './port.ts';

const NOW = Date.UTC(2026, 10, 29, 12);

/**
 * The behaviour every failure throttle must have, run unchanged against each implementation (a Map,
 * the gateway workers' shared table, Redis): `open` makes a factory of empty throttles.
 */
export function throttleContract(name: string, open: () => ThrottleFactory): void {
  describe(`Throttle contract: ${name}`, () => {
    test('a slot is refused after its limit, then gets one attempt per window/limit', async () => {
      const t = open()({ name: 'contract', limit: 5, windowMs: 900_000 });
      for (let i = 0; i < 5; i++) {
        assert.equal(await t.blockedFor('a', NOW), 0);
        await t.recordFailure('a', NOW);
      }
      assert.equal(await t.blockedFor('a', NOW), 180_000);
      assert.equal(await t.blockedFor('b', NOW), 0, 'other slots are untouched');
      assert.equal(await t.blockedFor('a', NOW + 180_000), 0);
    });

    test('a limit whose interval is not exact in binary (7 per second) still allows all 7', async () => {
      const t = open()({ name: 'contract', limit: 7, windowMs: 1000 });
      let allowed = 0;
      for (let i = 0; i < 7; i++) {
        if ((await t.blockedFor('a', NOW)) === 0) allowed++;
        await t.recordFailure('a', NOW);
      }
      assert.equal(allowed, 7);
      assert.ok((await t.blockedFor('a', NOW)) > 0);
    });

    test('a slot out of tokens is not charged further by more failures', async () => {
      const t = open()({ name: 'contract', limit: 2, windowMs: 60_000 });
      for (let i = 0; i < 10; i++) await t.recordFailure('a', NOW);
      assert.equal(await t.blockedFor('a', NOW), 30_000);
      assert.equal(await t.blockedFor('a', NOW + 30_000), 0, 'one window/limit later, one attempt again');
    });

    test('forget clears a slot at once', async () => {
      const t = open()({ name: 'contract', limit: 2, windowMs: 60_000 });
      await t.recordFailure('a', NOW);
      await t.recordFailure('a', NOW);
      assert.ok((await t.blockedFor('a', NOW)) > 0);
      await t.forget('a');
      assert.equal(await t.blockedFor('a', NOW), 0);
    });

    test('throttles with different names count apart, on the same slot', async () => {
      const throttles = open();
      const accounts = throttles({ name: 'accounts', limit: 1, windowMs: 60_000 });
      const devices = throttles({ name: 'devices', limit: 1, windowMs: 60_000 });
      await accounts.recordFailure('alice', NOW);
      assert.ok((await accounts.blockedFor('alice', NOW)) > 0);
      assert.equal(await devices.blockedFor('alice', NOW), 0);
    });

    test('per address: an IPv6 /64 is one address, so a host cannot rotate through its own prefix', async () => {
      const t = open()({ name: 'contract', limit: 3, windowMs: 60_000, perAddress: true });
      await t.recordFailure('2001:db8:1:2::1', NOW);
      await t.recordFailure('2001:db8:1:2:aaaa::7', NOW);
      await t.recordFailure('2001:0db8:0001:0002:ffff:ffff:ffff:ffff', NOW);
      assert.ok((await t.blockedFor('2001:db8:1:2::99', NOW)) > 0);
      assert.equal(await t.blockedFor('2001:db8:1:3::1', NOW), 0, 'the next /64 is another address');
    });

    test('per address: IPv4 addresses count alone, and IPv4-mapped IPv6 counts as the IPv4 address', async () => {
      const t = open()({ name: 'contract', limit: 2, windowMs: 60_000, perAddress: true });
      await t.recordFailure('192.0.2.1', NOW);
      await t.recordFailure('::ffff:192.0.2.1', NOW);
      assert.ok((await t.blockedFor('192.0.2.1', NOW)) > 0);
      assert.equal(await t.blockedFor('192.0.2.2', NOW), 0);
    });

    test('sweeping keeps slots that are still throttled', async () => {
      const t = open()({ name: 'contract', limit: 1, windowMs: 60_000 });
      await t.recordFailure('a', NOW);
      t.sweep(NOW);
      assert.equal(await t.blockedFor('a', NOW), 60_000);
    });
  });
}
