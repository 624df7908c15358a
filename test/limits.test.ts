import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../src/config/load.ts';
import { startGatehouse } from '../src/gatehouse.ts';
import { call, seed, startHarness, TEST_PEPPER, TestClock, type Harness, startSeeded, type Seeded } from './support/harness.ts';

describe('rate limits and quotas', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded({ GATEHOUSE_AUTH_FAILURES_LIMIT: '1000' })));
  after(() => h.close());

  test('exactly the limit is admitted out of many concurrent requests', async () => {
    const key = (
      await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], rateLimits: [{ name: 'per-minute', limit: 25, windowSeconds: 60 }] })
    ).body;
    const before = h.upstream.requests.length;
    const results = await Promise.all(Array.from({ length: 120 }, () => call(h, '/orders/c', { key: key.secret })));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 25);
    assert.equal(statuses.filter((s) => s === 429).length, 95);
    assert.equal(h.upstream.requests.length - before, 25);
  });

  test('every named limit applies; the tightest one refuses', async () => {
    const key = (
      await h.admin('POST', '/keys', {
        appId: ids.appId,
        access: [{ apiId: ids.apiId }],
        rateLimits: [
          { name: 'per-second', limit: 3, windowSeconds: 1 },
          { name: 'per-hour', limit: 4, windowSeconds: 3600 },
        ],
      })
    ).body;
    const first = await Promise.all(Array.from({ length: 5 }, () => call(h, '/orders/c', { key: key.secret })));
    assert.equal(first.filter((r) => r.status === 200).length, 3);
    h.clock.advance(1000);
    const second = await Promise.all(Array.from({ length: 5 }, () => call(h, '/orders/c', { key: key.secret })));
    assert.equal(second.filter((r) => r.status === 200).length, 1);
    assert.equal(
      second
        .find((r) => r.status === 429)!
        .headers.get('ratelimit')!
        .includes('"per-hour";r=0'),
      true,
    );
  });

  test('a quota never admits more than its limit in a period and rolls over at 00:00 UTC', async () => {
    h.clock.now = Date.UTC(2026, 10, 30, 23, 59, 0);
    const key = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], quota: { limit: 10, period: 'day' } })).body;
    const day1 = await Promise.all(Array.from({ length: 30 }, () => call(h, '/orders/q', { key: key.secret })));
    assert.equal(day1.filter((r) => r.status === 200).length, 10);
    const refused = day1.find((r) => r.status === 429)!;
    assert.equal(refused.body.code, 'QUOTA_EXCEEDED');
    assert.equal(refused.headers.get('retry-after'), '60');
    assert.equal((await h.admin('GET', `/keys/${key.id}`)).body.quota.remaining, 0);
    h.clock.now = Date.UTC(2026, 11, 1, 0, 0, 0);
    const day2 = await Promise.all(Array.from({ length: 15 }, () => call(h, '/orders/q', { key: key.secret })));
    assert.equal(day2.filter((r) => r.status === 200).length, 10);
    const shown = (await h.admin('GET', `/keys/${key.id}`)).body.quota;
    assert.deepEqual(shown, { limit: 10, period: 'day', inherited: false, used: 10, remaining: 0, resetsAt: '2026-12-02T00:00:00.000Z' });
  });

  test('a request refused by the quota does not use up the rate limit', async () => {
    const key = (
      await h.admin('POST', '/keys', {
        appId: ids.appId,
        access: [{ apiId: ids.apiId }],
        quota: { limit: 1, period: 'month' },
        rateLimits: [{ name: 'per-hour', limit: 5, windowSeconds: 3600 }],
      })
    ).body;
    assert.equal((await call(h, '/orders/q', { key: key.secret })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await call(h, '/orders/q', { key: key.secret })).body.code, 'QUOTA_EXCEEDED');
    const verdict = await h.admin('POST', '/keys/verify', { key: key.secret });
    assert.equal(verdict.body.ratelimits[0].remaining, 4);
  });
});

describe('usage survives a restart', () => {
  test('quota use and lastUsedAt are flushed in batches and read back after a restart', async () => {
    const clock = new TestClock();
    const h = await startHarness({}, clock);
    const ids = await seed(h, { quota: { limit: 5, period: 'month' } });
    for (let i = 0; i < 3; i++) assert.equal((await call(h, '/orders/u', { key: ids.secret })).status, 200);
    const env = {
      GATEHOUSE_PEPPER: TEST_PEPPER,
      GATEHOUSE_DATA_DIR: h.dir,
      GATEHOUSE_GATEWAY_PORT: '0',
      GATEHOUSE_CONTROL_PORT: '0',
      GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'allow',
      // On the main thread, which reads the test's clock (workers read the wall clock).
      GATEHOUSE_GATEWAY_WORKERS: '1',
    };
    await h.gh.close();
    const again = await startGatehouse(loadConfig({ env }), { clock: clock.read, logger: pino({ level: 'silent' }) });
    try {
      const fetchGw = (path: string) => fetch(`${again.gatewayUrl}${path}`, { headers: { authorization: `Bearer ${ids.secret}` } });
      assert.equal((await fetchGw('/orders/u')).status, 200);
      assert.equal((await fetchGw('/orders/u')).status, 200);
      const refused = await fetchGw('/orders/u');
      assert.equal(refused.status, 429);
      assert.equal(((await refused.json()) as { code: string }).code, 'QUOTA_EXCEEDED');
      const key = await again.ctx.store.keys.get(ids.keyId);
      assert.equal(key!.lastUsedAt, clock.now);
      assert.deepEqual(await again.ctx.store.usage.requestsByDay(ids.keyId), [{ day: '2026-11-29', requests: 3 }]);
    } finally {
      await again.close();
      await h.close().catch(() => {});
    }
  });
});
