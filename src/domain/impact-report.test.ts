import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildImpactReport, impactMarkdown, type ImpactInput, type ImpactRequest } from './impact-report.ts';

const T = Date.UTC(2026, 10, 29, 12);
const DAY = 86_400_000;
const req = (at: number, o: Partial<ImpactRequest> = {}): ImpactRequest => ({
  at,
  api: 'orders',
  route: '/orders/**',
  method: 'GET',
  status: 200,
  denialCode: null,
  bytesOut: 10,
  address: '203.0.113.1',
  userAgent: 'app/1',
  clientId: null,
  user: null,
  ...o,
});
const input = (o: Partial<ImpactInput> = {}): ImpactInput => ({
  subject: { type: 'key', id: 'key_1', name: 'prod' },
  now: T + 10 * 60_000,
  since: T,
  until: T + 10 * 60_000,
  exposedAt: T,
  requests: [],
  requestsTruncated: false,
  requestLogDays: 7,
  firstSeen: new Map(),
  firstSeenDays: 90,
  tokens: [],
  timeline: [],
  missing: [],
  ...o,
});

describe('impact report', () => {
  test('requests outside the window are not counted; denials, bytes and statuses add up', () => {
    const r = buildImpactReport(
      input({
        requests: [
          req(T - 1),
          req(T),
          req(T + 1, { status: 403, denialCode: 'FORBIDDEN', bytesOut: 100 }),
          req(T + 2, { status: 500, bytesOut: 7 }),
          req(T + 10 * 60_000),
        ],
      }),
    );
    assert.equal(r.totals.requests, 3);
    assert.equal(r.totals.denied, 1);
    assert.equal(r.totals.forwarded, 2, 'an upstream 500 was forwarded');
    assert.equal(r.totals.bytesOut, 117);
    assert.equal(r.totals.bytesOut2xx, 10);
    assert.deepEqual(r.byRoute[0]!.statuses, { 200: 1, 403: 1, 500: 1 });
  });

  test('an address is new when first seen ever at or after the exposure; without a record, the window decides only when it reaches back before the exposure', () => {
    const firstSeen = new Map([
      ['203.0.113.1', T - DAY],
      ['203.0.113.2', T + 5],
    ]);
    const requests = [req(T + 5, { address: '203.0.113.2' }), req(T + 6), req(T + 7, { address: '198.51.100.9' })];
    const r = buildImpactReport(input({ requests, firstSeen }));
    const isNew = Object.fromEntries(r.addresses.map((a) => [a.address, a.newSinceExposure]));
    assert.deepEqual(isNew, { '203.0.113.1': false, '203.0.113.2': true, '198.51.100.9': null });
    assert.equal(r.totals.newAddresses, null, 'one address cannot be told');
    const wide = buildImpactReport(input({ requests: [req(T - 5, { address: '198.51.100.9' }), ...requests], since: T - DAY, firstSeen: null }));
    assert.equal(wide.addresses.find((a) => a.address === '198.51.100.9')!.newSinceExposure, false, 'seen in the window before the exposure');
    assert.equal(buildImpactReport(input({ requests, exposedAt: null })).totals.newAddresses, null, 'no exposure: nothing is new');
  });

  test('coverage: a window older than the request log, a cut reading, a log that is off', () => {
    assert.equal(buildImpactReport(input()).coverage.requestLog, 'complete');
    const old = buildImpactReport(input({ since: T - 30 * DAY }));
    assert.equal(old.coverage.requestLog, 'partial');
    assert.equal(old.coverage.requestLogFrom, new Date(Date.UTC(2026, 10, 22)).toISOString());
    assert.match(old.coverage.notes[0]!, /before the oldest request the log keeps/);
    assert.equal(buildImpactReport(input({ requestsTruncated: true })).coverage.requestLog, 'partial');
    assert.equal(buildImpactReport(input({ requestLogDays: null })).coverage.requestLog, 'off');
  });

  test('milestones: contained is the first disable, revocation or compromise after detection', () => {
    const r = buildImpactReport(
      input({
        timeline: [
          { at: T - DAY, event: 'created', detail: '' },
          { at: T - 10, event: 'disabled', detail: 'before, by an operator' },
          { at: T, event: 'detected', detail: '' },
          { at: T + 60_000, event: 'compromised', detail: '' },
        ],
      }),
    );
    assert.deepEqual(r.milestones, {
      createdAt: new Date(T - DAY).toISOString(),
      exposedAt: new Date(T).toISOString(),
      detectedAt: new Date(T).toISOString(),
      containedAt: new Date(T + 60_000).toISOString(),
    });
  });

  test('Markdown: what a client sent cannot break out of its cell or inject markup', () => {
    const md = impactMarkdown(
      buildImpactReport(
        input({ requests: [req(T, { userAgent: 'x` | <img src=x> |\n# heading' })], timeline: [{ at: T, event: 'detected', detail: 'a | b <script>' }] }),
      ),
    );
    assert.match(md, /\| `x' {3}<img src=x> {3}# heading` \| 1 \|/);
    assert.match(md, /\| a \\\| b &lt;script> \|/);
    assert.ok(!/^# heading/m.test(md));
  });
});
