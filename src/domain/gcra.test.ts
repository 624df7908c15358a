import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RateLimitRule } from './entities.ts';
import { gcra, gcraPeek } from './gcra.ts';

const rule: RateLimitRule = { name: 'per-second', limit: 5, windowMs: 1000 };
const T0 = 1_700_000_000_000;

/** Runs `count` requests at `now`, threading the stored TAT like a limiter would. */
function burst(count: number, now: number, start?: number) {
  let tat = start;
  const outcomes = [];
  for (let i = 0; i < count; i++) {
    const outcome = gcra(rule, tat, now);
    if (outcome.allowed) tat = outcome.tat;
    outcomes.push(outcome);
  }
  return { outcomes, tat };
}

describe('gcra', () => {
  test('a burst of exactly `limit` requests is admitted, the next one denied', () => {
    const { outcomes } = burst(7, T0);
    assert.deepEqual(
      outcomes.map((o) => o.allowed),
      [true, true, true, true, true, false, false],
    );
  });

  test('remaining counts down from limit - 1 to 0 during a burst', () => {
    const { outcomes } = burst(5, T0);
    assert.deepEqual(
      outcomes.map((o) => o.remaining),
      [4, 3, 2, 1, 0],
    );
  });

  test('a denied request reports remaining 0 and the time until one request fits', () => {
    const { outcomes } = burst(6, T0);
    const denied = outcomes[5]!;
    assert.equal(denied.allowed, false);
    assert.equal(denied.remaining, 0);
    assert.equal(denied.resetMs, 200);
  });

  test('a denied request does not move the stored TAT', () => {
    const { tat } = burst(5, T0);
    const denied = gcra(rule, tat, T0);
    assert.equal(denied.tat, tat);
  });

  test('an admitted request reports the time until the bucket is full again', () => {
    assert.equal(gcra(rule, undefined, T0).resetMs, 200);
    const { outcomes } = burst(5, T0);
    assert.equal(outcomes[4]!.resetMs, 1000);
  });

  test('one interval after a full burst exactly one more request is admitted', () => {
    const { tat } = burst(5, T0);
    assert.equal(gcra(rule, tat, T0 + 199).allowed, false);
    const later = burst(2, T0 + 200, tat);
    assert.deepEqual(
      later.outcomes.map((o) => o.allowed),
      [true, false],
    );
  });

  test('after a whole window the full burst is available again', () => {
    const { tat } = burst(5, T0);
    const next = burst(6, T0 + 1000, tat);
    assert.deepEqual(
      next.outcomes.map((o) => o.allowed),
      [true, true, true, true, true, false],
    );
  });

  test('a stale TAT in the past counts as an empty bucket', () => {
    const outcome = gcra(rule, T0 - 60_000, T0);
    assert.equal(outcome.allowed, true);
    assert.equal(outcome.remaining, 4);
    assert.equal(outcome.tat, T0 + 200);
  });

  test('a request costing more than what is left is denied', () => {
    const { tat } = burst(3, T0);
    assert.equal(gcra(rule, tat, T0, 3).allowed, false);
    assert.equal(gcra(rule, tat, T0, 2).allowed, true);
  });
});

describe('gcraPeek', () => {
  test('peeking reports what is left without consuming', () => {
    const { tat } = burst(2, T0);
    const peek = gcraPeek(rule, tat, T0);
    assert.equal(peek.remaining, 3);
    assert.equal(peek.tat, tat);
    assert.equal(gcra(rule, tat, T0).remaining, 2);
  });

  test('peeking at an exhausted rule reports 0 remaining and not allowed', () => {
    const { tat } = burst(5, T0);
    const peek = gcraPeek(rule, tat, T0);
    assert.equal(peek.remaining, 0);
    assert.equal(peek.allowed, false);
  });

  test('peeking at an unknown counter reports the full limit', () => {
    assert.equal(gcraPeek(rule, undefined, T0).remaining, 5);
  });
});
