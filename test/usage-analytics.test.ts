import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { adminKeysService } from '../src/control/services/admin-keys.ts';
import { json, runCli } from './support/cli.ts';
import { startHarness, TestClock, type Harness } from './support/harness.ts';

const MINUTE = 60_000;
const DIMENSIONS = ['key', 'app', 'api', 'route', 'statusClass', 'denialCode'] as const;
type Dimension = (typeof DIMENSIONS)[number];

/** What the client saw of one request, and what it knows it sent: the dimensions every total is checked by. */
type Sent = Record<Dimension, string | null> & { bytesIn: number; bytesOut: number };

const tally = (sent: readonly Sent[], by: readonly Dimension[], value: (s: Sent) => number = () => 1): Map<string, number> => {
  const out = new Map<string, number>();
  for (const s of sent) {
    const k = JSON.stringify(by.map((d) => s[d]));
    out.set(k, (out.get(k) ?? 0) + value(s));
  }
  return out;
};

/** An upstream that fails: 503 for paths with /fail, 200 otherwise. */
async function failingUpstream(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const status = req.url?.includes('/fail') ? 503 : 200;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'fine' : 'upstream broke');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('usage analytics reconcile exactly with the requests sent', () => {
  let h: Harness;
  let failing: { url: string; server: Server };
  // 23:58 UTC: the mix is sent in three minutes on both sides of midnight, so minute, hour and day rows differ.
  const clock = new TestClock(Date.UTC(2026, 10, 29, 23, 58, 10));
  const start = clock.now;
  const sent: Sent[] = [];
  const ids = { orders: '', billing: '', gone: '', appA: '', appB: '', appC: '', keyA1: '', keyA2: '', keyB: '', keyC: '' };
  const secrets: Record<string, string> = {};

  /** One request through the gateway, remembered with its dimensions: the ones the client knows, and its status and code. */
  async function send(
    path: string,
    who: { key?: string; keyId?: string | null; appId?: string | null; api?: string | null; route?: string | null },
    body?: string,
  ) {
    const headers: Record<string, string> = who.key ? { 'x-api-key': who.key } : {};
    const res = await fetch(`${h.gh.gatewayUrl}${path}`, { method: body === undefined ? 'GET' : 'POST', headers, ...(body === undefined ? {} : { body }) });
    const received = Buffer.from(await res.arrayBuffer());
    const code = res.headers.get('content-type') === 'application/problem+json' ? (JSON.parse(received.toString()).code as string) : null;
    sent.push({
      key: who.keyId ?? null,
      app: who.appId ?? null,
      api: who.api ?? null,
      route: who.route ?? null,
      statusClass: res.status === 0 ? '0' : `${String(res.status)[0]}xx`,
      denialCode: code,
      bytesIn: body === undefined ? 0 : Buffer.byteLength(body),
      bytesOut: received.length,
    });
    return res.status;
  }

  before(async () => {
    failing = await failingUpstream();
    h = await startHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '1000' }, clock);
    const api = async (name: string, upstreamUrl: string, extra: Record<string, unknown> = {}) => {
      const res = await h.admin('POST', '/apis', { name, listenPath: `/${name}`, upstreamUrl, ...extra });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id as string;
    };
    ids.orders = await api('orders', h.upstream.url, { auth: { type: 'apiKey', scopes: [], routes: [{ paths: ['/items/*'] }] } });
    ids.billing = await api('billing', failing.url);
    // Nothing listens on port 9 of loopback: the gateway answers 502 UPSTREAM_UNAVAILABLE.
    ids.gone = await api('gone', 'http://127.0.0.1:9');
    for (const app of ['appA', 'appB', 'appC'] as const) ids[app] = (await h.admin('POST', '/apps', { name: app })).body.id;
    const key = async (name: 'keyA1' | 'keyA2' | 'keyB' | 'keyC', appId: string, body: Record<string, unknown>) => {
      const res = await h.admin('POST', '/keys', { appId, ...body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids[name] = res.body.id;
      secrets[name] = res.body.secret;
    };
    await key('keyA1', ids.appA, { access: [{ apiId: ids.orders }, { apiId: ids.billing }] });
    await key('keyA2', ids.appA, { access: [{ apiId: ids.orders }], rateLimits: [{ name: 'burst', limit: 2, windowSeconds: 3600 }] });
    await key('keyB', ids.appB, { access: [{ apiId: ids.billing }, { apiId: ids.gone }] });
    await key('keyC', ids.appC, { access: [{ apiId: ids.orders }] });
    const as = (k: 'keyA1' | 'keyA2' | 'keyB' | 'keyC', app: 'appA' | 'appB' | 'appC', apiName: 'orders' | 'billing' | 'gone', route: string) => ({
      key: secrets[k],
      keyId: ids[k],
      appId: ids[app],
      api: ids[apiName],
      route,
    });
    const unknownKey = `${secrets.keyA1!.slice(0, -8)}AAAAAAAA`;

    for (let minute = 0; minute < 3; minute++) {
      for (let i = 0; i < 3 + minute; i++) assert.equal(await send(`/orders/items/${i}`, as('keyA1', 'appA', 'orders', '/orders/items/*')), 200);
      await send('/orders/other', as('keyA1', 'appA', 'orders', '/orders'), 'x'.repeat(10 + minute));
      await send('/billing/invoices', as('keyA1', 'appA', 'billing', '/billing'));
      await send('/billing/invoices', as('keyB', 'appB', 'billing', '/billing'), '{"total":12}');
      await send('/billing/fail', as('keyB', 'appB', 'billing', '/billing')); // the upstream's 503
      await send('/gone/x', as('keyB', 'appB', 'gone', '/gone')); // 502 UPSTREAM_UNAVAILABLE
      await send('/orders/items/1', as('keyC', 'appC', 'orders', '/orders/items/*'));
      await send('/orders/items/1', as('keyB', 'appB', 'orders', '/orders/items/*')); // not for this API: 403
      await send('/orders/items/1', { api: ids.orders, route: '/orders/items/*' }); // no key: 401
      await send('/orders/items/1', { key: unknownKey, api: ids.orders, route: '/orders/items/*' }); // a key that is not ours (its checksum fails): 401 MALFORMED
      await send('/nowhere', {}); // 404 ROUTE_NOT_FOUND
      clock.advance(MINUTE);
    }
    // keyA2 may make 2 requests an hour: the rest are 429 RATE_LIMITED.
    for (let i = 0; i < 4; i++) await send('/orders/items/9', as('keyA2', 'appA', 'orders', '/orders/items/*'));
    const codes = new Set(sent.map((s) => s.denialCode));
    for (const code of ['RATE_LIMITED', 'MISSING_API_KEY', 'MALFORMED', 'FORBIDDEN', 'ROUTE_NOT_FOUND', 'UPSTREAM_UNAVAILABLE', null]) {
      assert.ok(codes.has(code), `the mix has ${code}`);
    }
    assert.ok(
      sent.some((s) => s.statusClass === '5xx' && s.denialCode === null),
      'the mix has an upstream 5xx',
    );
  });

  after(async () => {
    await h.close();
    failing.server.close();
  });

  const usage = async (query: string) => {
    const res = await h.admin('GET', `/usage?from=${new Date(start - 10 * MINUTE).toISOString()}&until=${new Date(clock.now + MINUTE).toISOString()}&${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  /** A report's series as group -> total requests (or another count), in tally's shape. */
  const totals = (report: any, by: readonly Dimension[], field = 'requests'): Map<string, number> =>
    new Map(report.series.map((s: any) => [JSON.stringify(by.map((d) => s.group[d])), s.totals[field]]));

  for (const granularity of ['minute', 'hour', 'day']) {
    test(`by each dimension alone and by all six, per ${granularity}: every total is what was sent (counts not yet flushed included)`, async () => {
      for (const d of DIMENSIONS) {
        const report = await usage(`granularity=${granularity}&groupBy=${d}`);
        assert.deepEqual(totals(report, [d]), tally(sent, [d]), `by ${d}`);
      }
      const all = await usage(`granularity=${granularity}&groupBy=${DIMENSIONS.join(',')}`);
      assert.deepEqual(totals(all, DIMENSIONS), tally(sent, DIMENSIONS));
      assert.equal(all.totals.requests, sent.length);
      assert.equal(
        all.totals.bytesOut,
        sent.reduce((n, s) => n + s.bytesOut, 0),
        'bytes out: the bodies the client received',
      );
      const forwarded = await usage(`granularity=${granularity}&denialCode=none&groupBy=key`);
      assert.deepEqual(
        totals(forwarded, ['key'], 'bytesIn'),
        tally(
          sent.filter((s) => s.denialCode === null),
          ['key'],
          (s) => s.bytesIn,
        ),
        'bytes in of forwarded requests: the bodies sent',
      );
    });
  }

  test('minute points add up to hour points, and hour points to day points; midnight splits the days', async () => {
    const points = async (granularity: string) =>
      ((await usage(`granularity=${granularity}`)).series[0].points as { at: string; requests: number }[]).map((p) => [p.at, p.requests]);
    const minutes = await points('minute');
    assert.deepEqual(
      minutes.map(([at]) => at),
      ['2026-11-29T23:58:00.000Z', '2026-11-29T23:59:00.000Z', '2026-11-30T00:00:00.000Z', '2026-11-30T00:01:00.000Z'],
    );
    const hours = await points('hour');
    const days = await points('day');
    assert.deepEqual(hours, [
      ['2026-11-29T23:00:00.000Z', (minutes[0]![1] as number) + (minutes[1]![1] as number)],
      ['2026-11-30T00:00:00.000Z', (minutes[2]![1] as number) + (minutes[3]![1] as number)],
    ]);
    assert.deepEqual(
      days.map(([, n]) => n),
      hours.map(([, n]) => n),
    );
  });

  test('filters select exactly what was sent with that value, "none" included; an API is found by name too', async () => {
    const check = async (query: string, match: (s: Sent) => boolean) => assert.equal((await usage(query)).totals.requests, sent.filter(match).length, query);
    await check(`keyId=${ids.keyB}`, (s) => s.key === ids.keyB);
    await check('keyId=none', (s) => s.key === null);
    await check(`appId=${ids.appA}&statusClass=4xx`, (s) => s.app === ids.appA && s.statusClass === '4xx');
    await check('api=billing&statusClass=5xx', (s) => s.api === ids.billing && s.statusClass === '5xx');
    await check('api=none', (s) => s.api === null);
    await check(`route=${encodeURIComponent('/orders/items/*')}`, (s) => s.route === '/orders/items/*');
    await check('denialCode=RATE_LIMITED', (s) => s.denialCode === 'RATE_LIMITED');
  });

  test('bad input is a problem with a specific code', async () => {
    const bad = async (query: string, code: string, field?: string) => {
      const res = await h.admin('GET', `/usage?${query}`);
      assert.equal(res.headers.get('content-type'), 'application/problem+json', query);
      assert.equal(res.body.code, code, `${query}: ${JSON.stringify(res.body)}`);
      if (field)
        assert.ok(
          res.body.errors.some((e: { field: string }) => e.field.startsWith(`query.${field}`)),
          JSON.stringify(res.body),
        );
    };
    await bad('groupBy=key,colour', 'VALIDATION_FAILED', 'groupBy');
    await bad('groupBy=key,key', 'VALIDATION_FAILED', 'groupBy');
    await bad('granularity=week', 'VALIDATION_FAILED', 'granularity');
    await bad('from=yesterday', 'VALIDATION_FAILED', 'from');
    await bad('from=1h&until=2h', 'VALIDATION_FAILED');
    await bad('granularity=minute&from=30d', 'USAGE_QUERY_TOO_LARGE');
    await bad('api=no-such-api', 'RESOURCE_NOT_FOUND');
  });

  test('reading usage needs the usage:read permission', async () => {
    const { secret } = await adminKeysService.create(h.gh.ctx, { actor: 'test', requestId: null }, 'requests only', ['requests:read']);
    const res = await h.admin('GET', '/usage', undefined, secret);
    assert.equal(res.status, 403);
    assert.match(res.body.detail, /usage:read/);
  });

  test('billing: per app, API and day, billable = forwarded (upstream 5xx included), stable ids, final once the day is over; JSON and CSV', async () => {
    const res = await h.admin('GET', `/usage/billing?period=day&from=${new Date(start).toISOString()}&until=${new Date(clock.now).toISOString()}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.timeZone, 'UTC');
    const expected = new Map<string, { billable: number; denied: number; errors: number }>();
    for (const s of sent) {
      if (s.app === null || s.api === null) continue;
      const k = `${s.app}|${s.api}`;
      const e = expected.get(k) ?? { billable: 0, denied: 0, errors: 0 };
      if (s.denialCode === null) e.billable += 1;
      else e.denied += 1;
      if (s.denialCode === null && s.statusClass === '5xx') e.errors += 1;
      expected.set(k, e);
    }
    // Summed over both days, the rows are exactly what was sent.
    const got = new Map<string, { billable: number; denied: number; errors: number }>();
    for (const row of res.body.items) {
      const e = got.get(`${row.appId}|${row.apiId}`) ?? { billable: 0, denied: 0, errors: 0 };
      e.billable += row.billableRequests;
      e.denied += row.deniedRequests;
      e.errors += row.serverErrors;
      got.set(`${row.appId}|${row.apiId}`, e);
    }
    assert.deepEqual(got, expected);
    assert.deepEqual([...new Set(res.body.items.map((r: any) => r.label))], ['2026-11-29', '2026-11-30']);
    assert.ok(
      res.body.items.every((r: any) => r.final === false),
      'it is still 00:01 on the second day: the first has not settled yet',
    );

    clock.advance(2 * 86_400_000);
    const later = await h.admin('GET', '/usage/billing?period=day&from=2026-11-29T00:00:00Z&until=2026-12-01T00:00:00Z');
    assert.deepEqual(
      later.body.items.map((r: any) => r.id),
      res.body.items.map((r: any) => r.id),
      'the same periods keep their ids',
    );
    assert.ok(later.body.items.every((r: any) => r.final === true));
    const csv = await fetch(`${h.gh.controlUrl}/admin/v1/usage/billing?period=day&from=2026-11-29T00:00:00Z&until=2026-12-01T00:00:00Z`, {
      headers: { authorization: `Bearer ${h.adminKey}`, accept: 'text/csv' },
    });
    assert.match(csv.headers.get('content-type')!, /^text\/csv/);
    const lines = (await csv.text()).trimEnd().split('\r\n');
    assert.equal(lines[0], 'id,appId,apiId,period,label,periodStart,periodEnd,timeZone,billableRequests,deniedRequests,serverErrors,final');
    assert.equal(lines.length, 1 + later.body.items.length);
    const first = later.body.items[0];
    assert.equal(
      lines[1],
      [
        first.id,
        first.appId,
        first.apiId,
        'day',
        first.label,
        first.periodStart,
        first.periodEnd,
        'UTC',
        first.billableRequests,
        first.deniedRequests,
        first.serverErrors,
        'true',
      ].join(','),
    );
    clock.advance(-2 * 86_400_000);
  });

  test('gatehouse usage --by api,status --since 1h prints totals and series (--json too); gatehouse usage billing exports CSV', async () => {
    const env = { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey };
    const report = json(await runCli(['usage', '--by', 'api,status', '--since', '1h', '--json'], env));
    assert.equal(report.totals.requests, sent.length);
    assert.deepEqual(report.groupBy, ['api', 'statusClass']);
    assert.deepEqual(totals(report, ['api', 'statusClass']), tally(sent, ['api', 'statusClass']));
    const text = await runCli(['usage', '--by', 'api', '--since', '1h', '--api', 'billing'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`requests\\s+${sent.filter((s) => s.api === ids.billing).length}\\b`));
    assert.match(text.stdout, new RegExp(ids.billing));
    const csv = await runCli(['usage', 'billing', '--period', 'day', '--since', '1d', '--format', 'csv'], env);
    assert.equal(csv.code, 0, csv.stderr);
    assert.match(csv.stdout, /^id,appId,apiId,/);
    const bad = await runCli(['usage', '--by', 'colour'], env);
    assert.equal(bad.code, 2);
  });
});
