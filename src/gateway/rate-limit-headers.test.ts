import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LimitState } from '../limits/port.ts';
import { rateLimitHeaders } from './rate-limit-headers.ts';

const rate = (limit: number, remaining: number): LimitState => ({ kind: 'rate', name: 'per-minute', limit, remaining, resetMs: 1500, windowMs: 60_000 });
const quota: LimitState = { kind: 'quota', name: 'quota-day', limit: 1000, remaining: 10, resetMs: 3_600_000, windowMs: 86_400_000 };

test('RateLimit-Policy and RateLimit name every limit, with seconds rounded up', () => {
  assert.deepEqual(rateLimitHeaders([rate(100, 99), quota]), {
    policy: '"per-minute";q=100;w=60, "quota-day";q=1000;w=86400',
    state: '"per-minute";r=99;t=2, "quota-day";r=10;t=3600',
  });
  assert.equal(rateLimitHeaders([]), null);
});

test('requests of keys with other limits, one after another, each get their own policy', () => {
  const answers = [[rate(100, 5)], [rate(7, 1)], [rate(100, 4), quota], [rate(100, 3)]].map((limits) => rateLimitHeaders(limits)!.policy);
  assert.deepEqual(answers, [
    '"per-minute";q=100;w=60',
    '"per-minute";q=7;w=60',
    '"per-minute";q=100;w=60, "quota-day";q=1000;w=86400',
    '"per-minute";q=100;w=60',
  ]);
});

test('policies are made once per set of limits, and past the bound of remembered ones every answer is still its own', () => {
  const first = rateLimitHeaders([rate(100, 5), quota])!.policy;
  assert.equal(rateLimitHeaders([rate(100, 4), quota])!.policy, first, 'the same string, not made again');
  // Keys with limits of their own: more sets than the cache keeps.
  for (let limit = 1; limit <= 10_050; limit++) {
    assert.equal(rateLimitHeaders([rate(limit, 0)])!.policy, `"per-minute";q=${limit};w=60`);
  }
  const other: LimitState = { ...quota, name: 'quota-month', limit: 1000 };
  assert.equal(rateLimitHeaders([rate(100, 3), other])!.policy, '"per-minute";q=100;w=60, "quota-month";q=1000;w=86400');
  assert.equal(rateLimitHeaders([rate(100, 3), quota])!.policy, first);
});
