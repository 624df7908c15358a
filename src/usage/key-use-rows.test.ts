import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyUseRows } from './key-use-rows.ts';

const T = Date.UTC(2026, 11, 6, 12);

test("a row holds one day, one quota period and one address; another is refused, and the row's counts are left as they were", () => {
  const rows = new KeyUseRows();
  assert.equal(rows.addRequests('key_a', '2026-12-06', 2, T, '192.0.2.1', true), true);
  assert.equal(rows.addRequests('key_a', '2026-12-07', 1, T + 1, '192.0.2.9', true), false);
  assert.equal(rows.addQuota('key_a', '2026-12', 2, 100, T + 9, true), true);
  assert.equal(rows.addQuota('key_a', '2027-01', 1, 100, T + 99, true), false);
  assert.equal(rows.addAddressUse('key_a', '192.0.2.1', T, T, 2), true);
  assert.equal(rows.addAddressUse('key_a', '192.0.2.9', T + 1, T + 1, 1), false);
  assert.deepEqual(rows.pendingRequests('key_a'), { keyId: 'key_a', day: '2026-12-06', requests: 2, lastUsedAt: T, lastUsedFrom: '192.0.2.1' });
  assert.deepEqual(rows.pendingQuota('key_a'), { lineageId: 'key_a', period: '2026-12', delta: 2, limit: 100, resetsAt: T + 9 });
  assert.deepEqual([...rows.takeAddresses()], [{ keyId: 'key_a', address: '192.0.2.1', firstSeen: T, lastSeen: T, requests: 2 }]);
});

test('a take zeroes the counts and keeps the row; the next take finds it idle and frees it for another name, which starts from nothing', () => {
  const rows = new KeyUseRows();
  rows.addRequests('key_a', '2026-12-06', 3, T, '192.0.2.1', true);
  rows.addQuota('key_a', '2026-12', 3, 100, T + 9, true);
  assert.deepEqual(
    [...rows.takeRequests()].map((r) => r.requests),
    [3],
  );
  assert.deepEqual(
    [...rows.takeQuotas()].map((q) => q.delta),
    [3],
  );
  assert.equal(rows.size, 1);
  assert.equal(rows.pendingRequests('key_a'), null);
  // Idle since the last take: both parts cleared, the row freed.
  assert.deepEqual([...rows.takeRequests()], []);
  assert.deepEqual([...rows.takeQuotas()], []);
  assert.equal(rows.size, 0);
  // The freed row, reused: a new day is taken, nothing of key_a's counts or address shows.
  assert.equal(rows.addRequests('key_b', '2026-12-07', 1, T + 5, null, true), true);
  assert.deepEqual(rows.pendingRequests('key_b'), { keyId: 'key_b', day: '2026-12-07', requests: 1, lastUsedAt: T + 5, lastUsedFrom: null });
  assert.equal(rows.pendingQuota('key_b'), null);
  assert.equal(rows.pendingRequests('key_a'), null);
});

test('a day whose counts were taken empty makes room for the next day in the same row', () => {
  const rows = new KeyUseRows();
  rows.addRequests('key_a', '2026-12-06', 1, T, null, true);
  [...rows.takeRequests()];
  assert.equal(rows.addRequests('key_a', '2026-12-07', 1, T + 1, null, true), false, 'the taken day stays until a take finds it idle');
  [...rows.takeRequests()];
  assert.equal(rows.addRequests('key_a', '2026-12-07', 1, T + 1, null, true), true);
});

test("a use at the row's latest time replaces its address only when told to (a new use does; counts put back do not)", () => {
  const rows = new KeyUseRows();
  rows.addRequests('key_a', '2026-12-06', 1, T, '192.0.2.1', true);
  rows.addRequests('key_a', '2026-12-06', 1, T, '192.0.2.2', false);
  assert.equal(rows.pendingRequests('key_a')?.lastUsedFrom, '192.0.2.1');
  rows.addRequests('key_a', '2026-12-06', 1, T, '192.0.2.3', true);
  assert.equal(rows.pendingRequests('key_a')?.lastUsedFrom, '192.0.2.3');
  rows.addRequests('key_a', '2026-12-06', 1, T - 1, '192.0.2.4', true);
  assert.deepEqual(rows.pendingRequests('key_a'), { keyId: 'key_a', day: '2026-12-06', requests: 4, lastUsedAt: T, lastUsedFrom: '192.0.2.3' });
});

test('rows past the first capacity keep every count apart', () => {
  const rows = new KeyUseRows();
  const n = 5000;
  for (let i = 0; i < n; i++) rows.addRequests(`key_${i}`, '2026-12-06', i + 1, T + i, null, true);
  const taken = [...rows.takeRequests()];
  assert.equal(taken.length, n);
  for (const r of taken) assert.equal(r.requests, Number(r.keyId.slice(4)) + 1);
});
