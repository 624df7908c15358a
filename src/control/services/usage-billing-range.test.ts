import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ControlContext } from '../context.ts';
import { usageAnalyticsService } from './usage-analytics.ts';

/** Only what the billing export reads of a control context. */
function context(billingTimeZone: string, now: number) {
  let queried = 0;
  const ctx = {
    clock: () => now,
    analytics: {
      flush: async () => {},
      query: async () => (queried++, []),
      retention: { minuteRetentionHours: 48, hourRetentionDays: 90, dayRetentionDays: 800 },
      billingTimeZone,
      settleMs: 60_000,
    },
  } as unknown as ControlContext;
  return { ctx, queried: () => queried };
}

test('a billing export over a huge range is refused at once as too large, without listing its periods first', async () => {
  const now = Date.UTC(2026, 11, 7, 12);
  const { ctx, queried } = context('Europe/Berlin', now);
  const started = performance.now();
  // 1900 to now: about 46,000 local days, each found with up to 30 time-zone look-ups (from 0001: 740,000).
  await assert.rejects(
    usageAnalyticsService.billing(ctx, { period: 'day', from: '1900-01-01T00:00:00Z', until: '2026-12-07T00:00:00Z' }, 'json'),
    (error: Error & { code?: string }) => error.code === 'USAGE_QUERY_TOO_LARGE',
  );
  const elapsed = performance.now() - started;
  assert.equal(queried(), 0);
  assert.ok(elapsed < 1000, `the refusal held the control plane's event loop for ${Math.round(elapsed)} ms`);
});

test('a billing export of at most MAX_PERIODS periods is still answered', async () => {
  const now = Date.UTC(2026, 11, 7, 12);
  const { ctx } = context('Europe/Berlin', now);
  const res = await usageAnalyticsService.billing(ctx, { period: 'day', from: '2026-11-01T00:00:00Z', until: '2026-12-07T00:00:00Z' }, 'json');
  assert.deepEqual(res, { period: 'day', timeZone: 'Europe/Berlin', items: [] });
});

test("a billing export of days long before retention is refused as not retained, not failed on the zone's local mean time", async () => {
  const { ctx } = context('Europe/Berlin', Date.UTC(2026, 11, 7, 12));
  // Before 1893 Berlin kept local mean time, +00:53:28 from UTC.
  await assert.rejects(
    usageAnalyticsService.billing(ctx, { period: 'day', from: '1850-01-01T00:00:00Z', until: '1850-01-10T00:00:00Z' }, 'json'),
    (error: Error & { code?: string }) => error.code === 'USAGE_NOT_RETAINED',
  );
});
