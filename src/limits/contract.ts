import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LimitCheck, Limiter } from './port.ts';

/**
 * The behaviour every Limiter must have, run unchanged against each implementation (memory, shared
 * memory, Redis): `open` makes an empty limiter. `sweep` is the periodic cleanup of limiters that
 * keep state in process memory; Redis expires its cells itself, which redis-limiter.test.ts checks.
 */
export interface LimiterUnderTest extends Limiter {
  sweep?(now: number): void | Promise<void>;
}

const NOW = Date.UTC(2026, 10, 29, 12);
const DAY_START = Date.UTC(2026, 10, 29);
const DAY_END = DAY_START + 86_400_000;

/** The subject of the contract's calls (limits/port.ts): a key's, as the verifier names it. */
export const SUBJECT = 'key:key_1';

export const rate = (limit: number, windowMs = 60_000, counter = 'rl:per-minute'): LimitCheck => ({
  kind: 'rate',
  counter,
  name: 'per-minute',
  limit,
  windowMs,
});
export const quota = (limit: number, seed = 0, periodStart = DAY_START, periodEnd = DAY_END): LimitCheck => ({
  kind: 'quota',
  counter: 'q',
  name: 'daily',
  limit,
  window: { id: new Date(periodStart).toISOString().slice(0, 10), start: periodStart, end: periodEnd },
  seed,
});

async function admitted(limiter: Limiter, checks: LimitCheck[], attempts: number, now = NOW, subject = SUBJECT): Promise<number> {
  let count = 0;
  for (let i = 0; i < attempts; i++) if ((await limiter.consume(subject, checks, now)).allowed) count++;
  return count;
}

/** `sweeps`: the implementation keeps state in process memory and cleans it with `sweep`. */
export function limiterContract(name: string, open: () => LimiterUnderTest, { sweeps = true } = {}): void {
  describe(`Limiter contract: ${name}`, () => {
    test('a rate limit of N admits exactly N of many requests at one instant', async () => {
      assert.equal(await admitted(open(), [rate(10)], 100), 10);
    });

    test('a limit of N per second or per minute admits exactly N at one instant, and N again a window later, whatever N', async () => {
      // windowMs/limit is rarely exact in binary (1000/6): its rounding must never refuse the N-th.
      const limiter = open();
      const short: string[] = [];
      for (const windowMs of [1000, 60_000]) {
        for (let n = 1; n <= 40; n++) {
          const check = rate(n, windowMs, `rl:${n}/${windowMs}`);
          const first = await admitted(limiter, [check], n + 2);
          const again = await admitted(limiter, [check], n + 2, NOW + windowMs);
          if (first !== n || again !== n) short.push(`${n} per ${windowMs} ms: ${first}, then ${again}`);
        }
      }
      assert.deepEqual(short, []);
    });

    test('a large limit admits exactly N too, and its RateLimit remaining starts at N - 1', async () => {
      // The interval is rounded to the grid (domain/gcra.ts): the burst must still be N, not windowMs / interval.
      const limiter = open();
      for (const n of [3000, 5000]) {
        const check = rate(n, 1000, `rl:${n}`);
        const first = await limiter.consume(SUBJECT, [check], NOW);
        assert.equal(first.states[0]?.remaining, n - 1);
        assert.equal(1 + (await admitted(limiter, [check], n + 10)), n, `${n} per second`);
      }
    });

    test('a quota of N admits exactly N of many requests in a period', async () => {
      assert.equal(await admitted(open(), [quota(7)], 50), 7);
    });

    test('separate counters are limited separately', async () => {
      const limiter = open();
      assert.equal(await admitted(limiter, [rate(3, 60_000, 'a')], 10), 3);
      assert.equal(await admitted(limiter, [rate(3, 60_000, 'b')], 10), 3);
    });

    test("a counter is named within its subject: two keys' counters of one name are separate", async () => {
      // Keys with equal settings share their checks (verification/key-limit-checks.ts): only the subject tells their budgets apart.
      const limiter = open();
      assert.equal(await admitted(limiter, [rate(3), quota(5)], 10, NOW, 'key:key_1'), 3);
      assert.equal(await admitted(limiter, [rate(3), quota(5)], 10, NOW, 'key:key_2'), 3);
      assert.equal(await admitted(limiter, [quota(5)], 10, NOW, 'key:key_1'), 2, "key_2's use took nothing of key_1's quota");
      // Nor does a subject that ends where another's counter starts share its cell.
      assert.equal(await admitted(limiter, [rate(3, 60_000, 'x:rl:per-minute')], 10, NOW, 'key:key_3'), 3);
      assert.equal(await admitted(limiter, [rate(3, 60_000, 'rl:per-minute')], 10, NOW, 'key:key_3:x'), 3);
    });

    test('a quota denial consumes no rate-limit token', async () => {
      const limiter = open();
      const result = await limiter.consume(SUBJECT, [rate(2), quota(5, 5)], NOW);
      assert.equal(result.allowed, false);
      assert.equal(result.deniedBy, 'quota');
      assert.equal(result.retryAfterMs, DAY_END - NOW);
      assert.equal(await admitted(limiter, [rate(2)], 10), 2);
    });

    test('a rate-limit denial consumes no quota', async () => {
      const limiter = open();
      assert.equal(await admitted(limiter, [rate(2), quota(10)], 5), 2);
      const denied = await limiter.consume(SUBJECT, [rate(2), quota(10)], NOW);
      assert.equal(denied.deniedBy, 'rate');
      assert.equal(denied.retryAfterMs, 30_000);
      assert.equal(await admitted(limiter, [quota(10)], 20), 8);
    });

    test('a refused request reports what each limit still has, unconsumed', async () => {
      const limiter = open();
      await limiter.consume(SUBJECT, [rate(5), quota(3)], NOW);
      const denied = await limiter.consume(SUBJECT, [rate(5), quota(1, 1)], NOW);
      assert.equal(denied.allowed, false);
      assert.deepEqual(
        denied.states.map((s) => [s.kind, s.remaining]),
        [
          ['rate', 4],
          ['quota', 0],
        ],
      );
    });

    test('a call with many checks counts every one of them', async () => {
      const checks = Array.from({ length: 12 }, (_, i) => rate(1, 60_000, `rl:rule-${i}`));
      const limiter = open();
      assert.equal((await limiter.consume(SUBJECT, checks, NOW)).allowed, true);
      for (const [i, check] of checks.entries()) assert.equal((await limiter.consume(SUBJECT, [check], NOW)).allowed, false, `check ${i} was counted`);
    });

    test('an admitted request reports remaining after it, reset and window per limit', async () => {
      const result = await open().consume(SUBJECT, [rate(5, 1000), quota(10, 3)], NOW);
      assert.equal(result.allowed, true);
      assert.equal(result.deniedBy, null);
      assert.deepEqual(result.states, [
        { kind: 'rate', name: 'per-minute', limit: 5, remaining: 4, resetMs: 200, windowMs: 1000 },
        { kind: 'quota', name: 'daily', limit: 10, remaining: 6, resetMs: DAY_END - NOW, windowMs: 86_400_000 },
      ]);
    });

    test('the quota seed counts as already used in a period the limiter has not seen', async () => {
      assert.equal(await admitted(open(), [quota(10, 7)], 20), 3);
    });

    test('once the limiter counts a period, a stale seed does not reset it', async () => {
      const limiter = open();
      assert.equal(await admitted(limiter, [quota(5, 2)], 2), 2);
      assert.equal(await admitted(limiter, [quota(5, 0)], 10), 1);
    });

    test('a new period starts from its own seed', async () => {
      const limiter = open();
      assert.equal(await admitted(limiter, [quota(3)], 10), 3);
      const next = quota(3, 0, DAY_END, DAY_END + 86_400_000);
      assert.equal(await admitted(limiter, [next], 10, DAY_END + 1), 3);
    });

    test('the rate limit refills after its window', async () => {
      const limiter = open();
      assert.equal(await admitted(limiter, [rate(4, 1000)], 10), 4);
      assert.equal(await admitted(limiter, [rate(4, 1000)], 10, NOW + 1000), 4);
    });

    if (sweeps) {
      test('sweep keeps buckets that have not refilled and quotas whose period is running', async () => {
        const limiter = open();
        assert.equal(await admitted(limiter, [rate(2, 1000)], 2), 2);
        assert.equal(await admitted(limiter, [quota(2, 0, DAY_START, NOW + 10)], 2), 2);
        await limiter.sweep!(NOW);
        assert.equal((await limiter.consume(SUBJECT, [rate(2, 1000)], NOW)).allowed, false);
        assert.equal((await limiter.consume(SUBJECT, [quota(2, 0, DAY_START, NOW + 10)], NOW)).allowed, false);
      });

      test('sweep drops quota state of ended periods, so that period would start again from its seed', async () => {
        const limiter = open();
        assert.equal(await admitted(limiter, [quota(2)], 2), 2);
        await limiter.sweep!(DAY_END);
        assert.equal(await admitted(limiter, [quota(2, 1)], 5), 1);
      });

      test('sweeping refilled buckets leaves the full limit available', async () => {
        const limiter = open();
        assert.equal(await admitted(limiter, [rate(3, 1000)], 3), 3);
        await limiter.sweep!(NOW + 1000);
        assert.equal(await admitted(limiter, [rate(3, 1000)], 10, NOW + 1000), 3);
      });
    }

    test('peek answers what consume would, with what is left now, and consumes nothing', async () => {
      const limiter = open();
      for (let i = 0; i < 5; i++) {
        const peeked = await limiter.peek(SUBJECT, [rate(2), quota(3)], NOW);
        assert.equal(peeked.allowed, true);
        assert.deepEqual(
          peeked.states.map((s) => s.remaining),
          [2, 3],
        );
      }
      assert.equal(await admitted(limiter, [rate(2), quota(3)], 10), 2, 'the peeks used nothing');
      const refused = await limiter.peek(SUBJECT, [rate(2), quota(3)], NOW);
      assert.equal(refused.allowed, false);
      assert.equal(refused.deniedBy, 'rate');
      assert.equal(refused.retryAfterMs, 30_000);
    });
  });
}
