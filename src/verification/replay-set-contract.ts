import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ReplaySet } from './replay-set.ts';

const NOW = Date.UTC(2026, 10, 29, 12);

/** The behaviour every replay set must have, run unchanged against each implementation (memory, shared table, Redis). */
export function replaySetContract(name: string, open: () => ReplaySet): void {
  describe(`Replay set contract: ${name}`, () => {
    test('an id is first once; the same id again is a replay', async () => {
      const set = open();
      assert.equal(await set.firstUse('jkt:jti-1', NOW, NOW + 120_000), 'first');
      assert.equal(await set.firstUse('jkt:jti-1', NOW + 1000, NOW + 121_000), 'replayed');
      assert.equal(await set.firstUse('jkt:jti-2', NOW, NOW + 120_000), 'first', 'other ids are untouched');
    });

    test('of many concurrent uses of one id, exactly one is first', async () => {
      const set = open();
      const verdicts = await Promise.all(Array.from({ length: 50 }, async () => set.firstUse('jkt:raced', NOW, NOW + 120_000)));
      assert.equal(verdicts.filter((v) => v === 'first').length, 1);
      assert.equal(verdicts.filter((v) => v === 'replayed').length, 49);
    });

    test('a sweep keeps ids whose time has not come', async () => {
      const set = open();
      assert.equal(await set.firstUse('jkt:kept', NOW, NOW + 120_000), 'first');
      set.sweep(NOW + 60_000);
      assert.equal(await set.firstUse('jkt:kept', NOW + 60_000, NOW + 180_000), 'replayed');
    });
  });
}
