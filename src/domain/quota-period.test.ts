import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { periodWindow } from './quota-period.ts';

const utc = (y: number, m: number, d: number, h = 0, min = 0, s = 0, ms = 0) => Date.UTC(y, m - 1, d, h, min, s, ms);

describe('periodWindow day', () => {
  test('a day runs from 00:00Z to the next 00:00Z', () => {
    const w = periodWindow('day', utc(2026, 11, 29, 15, 30));
    assert.deepEqual(w, { id: '2026-11-29', start: utc(2026, 11, 29), end: utc(2026, 11, 30) });
  });

  test('the first and last millisecond of a day belong to it', () => {
    assert.equal(periodWindow('day', utc(2026, 3, 1)).id, '2026-03-01');
    assert.equal(periodWindow('day', utc(2026, 3, 1, 23, 59, 59, 999)).id, '2026-03-01');
    assert.equal(periodWindow('day', utc(2026, 3, 2)).id, '2026-03-02');
  });

  test('the last day of a year ends at New Year', () => {
    const w = periodWindow('day', utc(2026, 12, 31, 23));
    assert.equal(w.id, '2026-12-31');
    assert.equal(w.end, utc(2027, 1, 1));
  });

  test('29 February of a leap year is its own day', () => {
    const w = periodWindow('day', utc(2028, 2, 29, 12));
    assert.equal(w.id, '2028-02-29');
    assert.equal(w.end, utc(2028, 3, 1));
  });
});

describe('periodWindow month', () => {
  test('a month runs from the 1st 00:00Z to the next 1st', () => {
    const w = periodWindow('month', utc(2026, 11, 29, 12));
    assert.deepEqual(w, { id: '2026-11', start: utc(2026, 11, 1), end: utc(2026, 12, 1) });
  });

  test('the last millisecond of a 31-day month still belongs to it', () => {
    const w = periodWindow('month', utc(2026, 1, 31, 23, 59, 59, 999));
    assert.equal(w.id, '2026-01');
    assert.equal(w.end, utc(2026, 2, 1));
    assert.equal(periodWindow('month', utc(2026, 2, 1)).id, '2026-02');
  });

  test('December ends at 1 January of the next year', () => {
    const w = periodWindow('month', utc(2026, 12, 15));
    assert.deepEqual(w, { id: '2026-12', start: utc(2026, 12, 1), end: utc(2027, 1, 1) });
  });

  test('February is 29 days in a leap year and 28 otherwise', () => {
    const leap = periodWindow('month', utc(2028, 2, 10));
    assert.equal((leap.end - leap.start) / 86_400_000, 29);
    const common = periodWindow('month', utc(2027, 2, 10));
    assert.equal((common.end - common.start) / 86_400_000, 28);
    assert.equal(common.end, utc(2027, 3, 1));
  });

  test('30-day months end on the 1st of the next month', () => {
    const w = periodWindow('month', utc(2026, 4, 30, 23));
    assert.equal(w.id, '2026-04');
    assert.equal((w.end - w.start) / 86_400_000, 30);
  });
});
