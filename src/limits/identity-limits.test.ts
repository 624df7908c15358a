import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileLimits } from '../domain/auth-requirements.ts';
import { IdentityLimits } from './identity-limits.ts';
import { MemoryLimiter } from './memory-limiter.ts';

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 29, 12);

test('the use so far of a daily quota per user is remembered only while its day runs, not for every user of every day since start', async () => {
  const limits = new IdentityLimits(new MemoryLimiter(), { count: () => undefined, used: async () => 0 });
  const api = { id: 'api_1', whenRedisUnavailable: undefined };
  const perUser = compileLimits([{ name: 'daily', limit: 1_000, period: 'day', by: 'user' }]);
  // 100 different users a day, for five days: a long-running gateway sees new users every day.
  for (let day = 0; day < 5; day++)
    for (let user = 0; user < 100; user++) {
      const result = await limits.check(api, perUser, null, `user-${day}-${user}`, START + day * DAY);
      assert.equal(result?.allowed, true);
    }
  assert.equal(limits.remembered, 100, "only today's users");
});
