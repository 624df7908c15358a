import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ApiAuthType } from '../../domain/entities.ts';
import { FailureThrottle } from '../../limits/failure-throttle.ts';
import { denialOf, routedExchangeFor, TEST_NOW } from '../test-exchange.ts';
import { throttleFailuresStage } from './throttle-failures.ts';

/** Five failures a minute: a burst of five, then one every 12 s. */
const throttled = (ip: string, failures: number) => {
  const throttle = FailureThrottle.perAddress(5, 60_000);
  for (let i = 0; i < failures; i++) throttle.recordFailure(ip, TEST_NOW);
  return throttle;
};

const run = async (throttle: FailureThrottle, type: ApiAuthType, ip: string, now = TEST_NOW) => {
  const exchange = await routedExchangeFor({ type, scopes: [] }, {}, { ip }, now);
  return denialOf(throttleFailuresStage(throttle)(exchange));
};

describe('throttle-failures stage', () => {
  test('an address with failures to spare passes', async () => {
    assert.equal(await run(throttled('203.0.113.5', 4), 'apiKey', '203.0.113.5'), undefined);
  });

  test('an address that used up its failures waits, before its credential is looked at', async () => {
    const denial = await run(throttled('203.0.113.5', 5), 'apiKey', '203.0.113.5');
    assert.equal(denial?.code, 'AUTH_RATE_LIMITED');
    assert.ok(denial?.retryAfterMs !== undefined && denial.retryAfterMs > 0 && denial.retryAfterMs <= 12_000, `retry after ${denial?.retryAfterMs} ms`);
    assert.equal((await run(throttled('203.0.113.5', 5), 'bearer', '203.0.113.5'))?.code, 'AUTH_RATE_LIMITED', 'token routes too');
  });

  test('the wait ends: one more attempt is allowed once a failure’s share of the window has passed', async () => {
    const throttle = throttled('203.0.113.5', 5);
    assert.equal((await run(throttle, 'apiKey', '203.0.113.5', TEST_NOW + 11_999))?.code, 'AUTH_RATE_LIMITED');
    assert.equal(await run(throttle, 'apiKey', '203.0.113.5', TEST_NOW + 12_000), undefined);
  });

  test('a public route is served to an address the throttle holds back', async () => {
    assert.equal(await run(throttled('203.0.113.5', 5), 'public', '203.0.113.5'), undefined);
  });

  test('other addresses are not held back; IPv6 addresses are counted by /64', async () => {
    assert.equal(await run(throttled('203.0.113.5', 5), 'apiKey', '203.0.113.6'), undefined);
    const v6 = throttled('2001:db8:1:2::1', 5);
    assert.equal((await run(v6, 'apiKey', '2001:db8:1:2:ffff::9'))?.code, 'AUTH_RATE_LIMITED', 'the same /64');
    assert.equal(await run(v6, 'apiKey', '2001:db8:1:3::1'), undefined, 'another /64');
  });
});
