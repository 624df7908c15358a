import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { billingTimeZoneProblem, periodAt, periodsOverlapping, rfc3339InZone } from './billing-period.ts';

const HOUR = 3_600_000;
const iso = (at: number) => new Date(at).toISOString();
const span = (zone: string, kind: 'day' | 'month', at: number) => {
  const p = periodAt(zone, kind, at);
  return { label: p.label, start: iso(p.start), end: iso(p.end), hours: (p.end - p.start) / HOUR };
};

describe('billing periods', () => {
  test('UTC months end on the last day, February of a leap year included, and the year turns', () => {
    assert.deepEqual(span('UTC', 'month', Date.UTC(2028, 1, 29, 23, 59, 59, 999)), {
      label: '2028-02',
      start: '2028-02-01T00:00:00.000Z',
      end: '2028-03-01T00:00:00.000Z',
      hours: 29 * 24,
    });
    assert.equal(span('UTC', 'month', Date.UTC(2027, 1, 10)).hours, 28 * 24);
    assert.deepEqual(span('UTC', 'month', Date.UTC(2026, 11, 31, 23)), {
      label: '2026-12',
      start: '2026-12-01T00:00:00.000Z',
      end: '2027-01-01T00:00:00.000Z',
      hours: 31 * 24,
    });
    assert.equal(periodAt('UTC', 'month', Date.UTC(2027, 0, 1)).label, '2027-01');
  });

  test('a month in a zone east of UTC starts the evening before in UTC; the instant decides the period', () => {
    assert.deepEqual(span('Europe/Berlin', 'month', Date.UTC(2026, 10, 15)), {
      label: '2026-11',
      start: '2026-10-31T23:00:00.000Z',
      end: '2026-11-30T23:00:00.000Z',
      hours: 30 * 24,
    });
    // 23:30 UTC on October 31st is already November in Berlin.
    assert.equal(periodAt('Europe/Berlin', 'month', Date.UTC(2026, 9, 31, 23, 30)).label, '2026-11');
    assert.equal(periodAt('America/New_York', 'month', Date.UTC(2026, 10, 1, 3)).label, '2026-10');
  });

  test('daylight saving in a whole-hour zone: the spring day has 23 hours, the autumn day 25, October one hour more', () => {
    assert.deepEqual(span('Europe/Berlin', 'day', Date.UTC(2026, 2, 29, 12)), {
      label: '2026-03-29',
      start: '2026-03-28T23:00:00.000Z',
      end: '2026-03-29T22:00:00.000Z',
      hours: 23,
    });
    assert.equal(span('Europe/Berlin', 'day', Date.UTC(2026, 9, 25, 12)).hours, 25);
    assert.equal(span('Europe/Berlin', 'month', Date.UTC(2026, 9, 10)).hours, 31 * 24 + 1);
    assert.equal(span('Europe/Berlin', 'month', Date.UTC(2026, 2, 10)).hours, 31 * 24 - 1);
  });

  test('a zone whose clocks skip midnight: the day starts when the clocks jump, at 01:00 local', () => {
    // Chile moves from -04:00 to -03:00 at 24:00 on the first Saturday of September.
    const day = periodAt('America/Santiago', 'day', Date.UTC(2026, 8, 6, 12));
    assert.equal(iso(day.start), '2026-09-06T04:00:00.000Z');
    assert.equal(rfc3339InZone('America/Santiago', day.start), '2026-09-06T01:00:00-03:00');
    assert.equal((day.end - day.start) / HOUR, 23);
  });

  test('the periods overlapping a range are whole and consecutive', () => {
    const months = periodsOverlapping('UTC', 'month', Date.UTC(2026, 9, 15), Date.UTC(2026, 11, 1));
    assert.deepEqual(
      months.map((p) => p.label),
      ['2026-10', '2026-11'],
    );
    assert.equal(months[0]!.end, months[1]!.start);
    assert.deepEqual(
      periodsOverlapping('Europe/Berlin', 'day', Date.UTC(2026, 2, 28, 22), Date.UTC(2026, 2, 29, 23)).map((p) => p.label),
      ['2026-03-28', '2026-03-29', '2026-03-30'],
    );
  });

  test('period bounds as RFC 3339 with the local offset', () => {
    assert.equal(rfc3339InZone('Europe/Berlin', Date.UTC(2026, 9, 31, 23)), '2026-11-01T00:00:00+01:00');
    assert.equal(rfc3339InZone('America/New_York', Date.UTC(2026, 6, 1, 4)), '2026-07-01T00:00:00-04:00');
    assert.equal(rfc3339InZone('UTC', Date.UTC(2026, 6, 1)), '2026-07-01T00:00:00Z');
  });

  test('zones whose offset is not a whole number of hours are refused, saying why; unknown zones too', () => {
    for (const zone of ['UTC', 'Europe/Berlin', 'America/New_York', 'America/Santiago', 'Asia/Tokyo', 'Etc/GMT+5']) {
      assert.equal(billingTimeZoneProblem(zone), null, zone);
    }
    assert.match(billingTimeZoneProblem('Asia/Kolkata')!, /\+05:30 from UTC.*whole number of hours/);
    assert.match(billingTimeZoneProblem('Asia/Kathmandu')!, /\+05:45/);
    assert.match(billingTimeZoneProblem('America/St_Johns')!, /-0[23]:30/);
    assert.match(billingTimeZoneProblem('Australia/Lord_Howe')!, /\+10:30/);
    assert.match(billingTimeZoneProblem('Mars/Olympus_Mons')!, /not an IANA time zone/);
  });
});
