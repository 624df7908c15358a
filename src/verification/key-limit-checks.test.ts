import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SettingsCompiler, effectiveSettings } from '../domain/key-decision.ts';
import type { QuotaPeriod } from '../domain/entities.ts';
import { periodWindow } from '../domain/quota-period.ts';
import { MemoryLimiter } from '../limits/memory-limiter.ts';
import { KeyLimitChecks, quotaCheckOf } from './key-limit-checks.ts';

const NOW = Date.UTC(2026, 11, 5, 12);
const compiler = new SettingsCompiler();
const settingsOf = (limit: number) =>
  compiler.compile(
    effectiveSettings(
      { access: null, ipAllowlist: null, scopes: null, rateLimits: [{ name: 'per-second', limit, windowMs: 1000 }], quota: { limit: 100, period: 'day' } },
      null,
    ),
  );

test('keys with equal settings get one array of checks per quota period; a seeded key its own; a new period new checks', () => {
  const checks = new KeyLimitChecks();
  const settings = settingsOf(10);
  const today = periodWindow('day', NOW);
  const a = checks.forPeriod(settings, today, 0);
  assert.equal(checks.forPeriod(settingsOf(10), today, 0), a, 'equal settings, one array');
  assert.deepEqual(
    a.map((c) => [c.kind, c.counter]),
    [
      ['rate', 'rl:per-second'],
      ['quota', 'q'],
    ],
  );
  assert.equal(checks.rate(settings), checks.rate(settings));
  const seeded = checks.forPeriod(settings, today, 7);
  assert.notEqual(seeded, a);
  assert.equal(quotaCheckOf(seeded).seed, 7);
  assert.equal(quotaCheckOf(checks.forPeriod(settings, today, 0)).seed, 0, "the seeded key's array is not handed to others");
  const tomorrow = periodWindow('day', NOW + 86_400_000);
  assert.equal(quotaCheckOf(checks.forPeriod(settings, tomorrow, 0)).window.id, tomorrow.id);
  assert.notEqual(checks.forPeriod(settingsOf(20), today, 0), a, 'other settings, other checks');
});

const withQuota = (limit: number, period: QuotaPeriod) =>
  compiler.compile(effectiveSettings({ access: null, ipAllowlist: null, scopes: null, rateLimits: null, quota: { limit, period } }, null));

test("on a month's last day, a lineage's monthly count is not read as its count for the day (both periods end at the same instant)", () => {
  // 30 November: today ends when November does.
  const now = Date.UTC(2026, 10, 30, 12);
  const limiter = new MemoryLimiter();
  const checks = new KeyLimitChecks();
  const lineage = 'key_0123456789abcdef0123456789ab';
  // A monthly quota of 1000, 500 of it used on earlier days (the store's count, the seed), one request today.
  const monthly = checks.forPeriod(withQuota(1000, 'month'), periodWindow('month', now), 500);
  assert.equal(limiter.consume(lineage, monthly, now).allowed, true);
  // The key's policy now gives a daily quota of 100: today's use so far is that one request (the store
  // has none for the day: the monthly quota counted it under 2026-11).
  const daily = checks.forPeriod(withQuota(100, 'day'), periodWindow('day', now), 0);
  const result = limiter.consume(lineage, daily, now + 60_000);
  assert.equal(result.allowed, true, `refused as ${result.deniedBy}: the day was charged the month's 501 requests`);
  assert.ok(result.states[0]!.remaining >= 98);
});
