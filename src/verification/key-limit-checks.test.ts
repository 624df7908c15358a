import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SettingsCompiler, effectiveSettings } from '../domain/key-decision.ts';
import { periodWindow } from '../domain/quota-period.ts';
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
