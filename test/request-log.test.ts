import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { json, runCli } from './support/cli.ts';
import { adminKeysService } from '../src/control/services/admin-keys.ts';
import { call, startHarness, type Harness } from './support/harness.ts';
import { entryBatch } from '../src/store/entry-batch.ts';
import { makeRequestLogEntry } from '../src/store/contract/fixtures.ts';
import type { RequestLogEntry } from '../src/store/port.ts';
import { insecure, startAuthHarness } from './support/oauth.ts';

const DAY = 86_400_000;

interface Sent {
  status: number;
  code: string | null;
  keyId: string | null;
  appId: string | null;
  api: string | null;
}

/** Every record the admin API lists for `query`, following cursors with a small page size. */
async function allRecords(h: Harness, query = ''): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: any } = await h.admin('GET', `/requests?limit=5${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return items;
}

const tally = <T>(items: T[], by: (item: T) => unknown): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const item of items) {
    const k = String(by(item));
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
};

/** A stored record as the gateway makes them for a public API, at `at`. */
const bulkEntry = (at: number, requestId: string): RequestLogEntry =>
  makeRequestLogEntry({
    at,
    requestId,
    apiId: null,
    api: 'open',
    route: '/open',
    path: '/open/x',
    durationMs: 1,
    upstreamMs: null,
    bytesOut: 100,
    keyId: null,
    appId: null,
    userAgent: null,
  });

/** Every stored record's bytes, as text: what a copy of the database would show (strings are kept as UTF-8). */
function storedText(h: Harness): string {
  const db = new DatabaseSync(join(h.dir, 'gatehouse.db'), { readOnly: true });
  try {
    return db
      .prepare('SELECT bytes FROM request_log_batches')
      .all()
      .map((row) => Buffer.from(row.bytes as Uint8Array).toString('utf8'))
      .join('\n');
  } finally {
    db.close();
  }
}

describe('the request log', () => {
  let h: Harness;
  const sent: Sent[] = [];
  const ids = { orders: '', billing: '', quiet: '', appA: '', appB: '', keyA1: '', keyA2: '', keyB: '' };
  const secrets = { keyA1: '', keyA2: '', keyB: '' };
  let unknownKey = '';

  /** One request through the gateway, remembered with what the caller saw. */
  async function send(
    path: string,
    init: { key?: string; header?: 'x-api-key'; method?: string; body?: string; userAgent?: string; requestId?: string } = {},
    who: Partial<Sent> = {},
  ) {
    const headers: Record<string, string> = {
      'user-agent': init.userAgent ?? 'request-log-test/1.0',
      ...(init.requestId ? { 'x-request-id': init.requestId } : {}),
    };
    if (init.key) headers[init.header ?? 'authorization'] = init.header ? init.key : `Bearer ${init.key}`;
    const res = await fetch(`${h.gh.gatewayUrl}${path}`, { method: init.method ?? 'GET', headers, ...(init.body ? { body: init.body } : {}) });
    const text = await res.text();
    const code = res.headers.get('content-type') === 'application/problem+json' ? (JSON.parse(text).code as string) : null;
    sent.push({ status: res.status, code, keyId: who.keyId ?? null, appId: who.appId ?? null, api: who.api ?? null });
    return res;
  }

  before(async () => {
    h = await startHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '1000' });
    const api = async (name: string, extra: Record<string, unknown> = {}) => {
      const res = await h.admin('POST', '/apis', { name, listenPath: `/${name}`, upstreamUrl: h.upstream.url, ...extra });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id as string;
    };
    ids.orders = await api('orders');
    ids.billing = await api('billing', { requestLog: { query: true } });
    ids.quiet = await api('quiet', { requestLog: false });
    ids.appA = (await h.admin('POST', '/apps', { name: 'App A' })).body.id;
    ids.appB = (await h.admin('POST', '/apps', { name: 'App B' })).body.id;
    const key = async (appId: string, body: Record<string, unknown>) => {
      const res = await h.admin('POST', '/keys', { appId, ...body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body as { id: string; secret: string };
    };
    const a1 = await key(ids.appA, { access: [{ apiId: ids.orders }, { apiId: ids.quiet }] });
    const a2 = await key(ids.appA, { access: [{ apiId: ids.orders }], rateLimits: [{ name: 'burst', limit: 2, windowSeconds: 60 }] });
    const b = await key(ids.appB, { access: [{ apiId: ids.billing }] });
    Object.assign(ids, { keyA1: a1.id, keyA2: a2.id, keyB: b.id });
    Object.assign(secrets, { keyA1: a1.secret, keyA2: a2.secret, keyB: b.secret });
    unknownKey = `${a1.secret.slice(0, -8)}AAAAAAAA`;

    // The known mix: forwarded, denied by several codes, three keys, two apps, two logged APIs.
    const A1 = { keyId: ids.keyA1, appId: ids.appA, api: 'orders' };
    const A2 = { keyId: ids.keyA2, appId: ids.appA, api: 'orders' };
    const B = { keyId: ids.keyB, appId: ids.appB, api: 'billing' };
    for (let i = 0; i < 3; i++) await send(`/orders/items/${i}?page=2&sort=desc`, { key: secrets.keyA1 }, A1);
    for (let i = 0; i < 3; i++) await send('/orders/x', { key: secrets.keyA2, header: 'x-api-key' }, A2); // the third: 429
    // A credential parameter (the gateway refuses a well-formed API key there outright; this one's checksum fails).
    await send(`/billing/invoices?month=11&api_key=${unknownKey}`, { key: secrets.keyB, method: 'POST', body: '{"total":12}' }, B);
    await send('/billing/invoices?month=12', { key: secrets.keyB }, B);
    await send('/orders/items', {}, { api: 'orders' }); // no key: 401
    // unknown key: 401; a client that puts a key where an id goes (X-Request-Id) and in the path
    await send(`/orders/items/${secrets.keyA1}`, { key: unknownKey, requestId: `trace-${secrets.keyA1}` }, { api: 'orders' });
    await send('/orders/items', { key: secrets.keyB }, { ...B, api: 'orders' }); // not for this API: 403
    await send('/nowhere/at/all'); // 404
    // Not logged: the API opted out.
    const quiet = await fetch(`${h.gh.gatewayUrl}/quiet/x`, { headers: { authorization: `Bearer ${secrets.keyA1}` } });
    assert.equal(quiet.status, 200);
    await quiet.text();
    await h.gh.requestLog!.flush();
  });
  after(() => h.close());

  test('one record per request: totals by status, denial code, key, app and API match what was sent', async () => {
    assert.deepEqual(
      tally(sent, (s) => s.status),
      { 200: 7, 401: 2, 403: 1, 404: 1, 429: 1 },
      'the mix itself',
    );
    const records = await allRecords(h);
    assert.equal(records.length, sent.length);
    assert.deepEqual(
      tally(records, (r) => r.status),
      tally(sent, (s) => s.status),
    );
    assert.deepEqual(
      tally(records, (r) => r.denialCode),
      tally(sent, (s) => s.code),
    );
    assert.deepEqual(
      tally(records, (r) => r.keyId),
      tally(sent, (s) => s.keyId),
    );
    assert.deepEqual(
      tally(records, (r) => r.appId),
      tally(sent, (s) => s.appId),
    );
    assert.deepEqual(
      tally(records, (r) => r.api),
      tally(sent, (s) => s.api),
    );
    assert.ok(!records.some((r) => r.api === 'quiet'), 'an API with requestLog: false is not logged');
  });

  test('a record has every field, newest first', async () => {
    const records = await allRecords(h);
    const post = records.find((r) => r.method === 'POST')!;
    assert.equal(post.api, 'billing');
    assert.equal(post.apiId, ids.billing);
    assert.equal(post.route, '/billing');
    assert.equal(post.path, '/billing/invoices');
    assert.equal(post.status, 200);
    assert.equal(post.denialCode, null);
    assert.equal(post.keyId, ids.keyB);
    assert.equal(post.appId, ids.appB);
    assert.equal(post.user, null);
    assert.equal(post.clientId, null);
    assert.equal(post.address, '127.0.0.1');
    assert.equal(post.userAgent, 'request-log-test/1.0');
    assert.equal(post.bytesIn, 12);
    assert.ok(post.bytesOut > 0, 'response bytes');
    assert.equal(typeof post.durationMs, 'number');
    assert.equal(typeof post.upstreamMs, 'number');
    assert.ok(post.upstreamMs <= post.durationMs);
    assert.match(post.requestId, /^[\w.:-]+$/);
    assert.equal(post.traceId, null);
    assert.equal(post.at, new Date(h.clock.now).toISOString());
    const denied = records.find((r) => r.status === 429)!;
    assert.equal(denied.denialCode, 'RATE_LIMITED');
    assert.equal(denied.keyId, ids.keyA2, 'a refused key of ours is named');
    assert.equal(denied.upstreamMs, null);
    const unknown = records.find((r) => r.status === 404)!;
    assert.equal(unknown.api, null);
    assert.equal(unknown.route, null);
    assert.equal(unknown.path, '/nowhere/at/all');
    // Newest first: the last request sent is the first listed.
    assert.equal(records[0].path, '/nowhere/at/all');
    // Request ids are unique and match the denial the client saw.
    assert.equal(new Set(records.map((r) => r.requestId)).size, records.length);
  });

  test('no credential and no query value is stored, unless the API opts in to its query (credentials still removed)', async () => {
    const text = storedText(h);
    for (const secret of [...Object.values(secrets), unknownKey]) {
      assert.ok(!text.includes(secret), 'no API key');
      assert.ok(!text.includes(secret.slice(8)), 'not even the random part of one');
    }
    assert.ok(!text.includes('desc'), 'query values of an API that did not opt in');
    const records = await allRecords(h);
    const orders = records.filter((r) => r.path.startsWith('/orders/items/') && r.status === 200);
    assert.deepEqual(
      orders.map((r) => r.query),
      ['page&sort', 'page&sort', 'page&sort'],
      'names only',
    );
    const billing = records
      .filter((r) => r.api === 'billing')
      .map((r) => r.query)
      .sort();
    assert.deepEqual(billing, ['month=11&api_key=REDACTED', 'month=12']);
    const keyInPath = records.find((r) => r.status === 401 && r.keyId === null && r.path !== '/orders/items')!;
    assert.equal(keyInPath.path, '/orders/items/REDACTED');
    // An X-Request-Id holding a key is not adopted: the record has the gateway's own id.
    assert.ok(!keyInPath.requestId.startsWith('trace-') && !keyInPath.requestId.includes('REDACTED'), keyInPath.requestId);
  });

  test('filters: key, app, API, status (exact or class), denial code, address; combined', async () => {
    const count = async (query: string) => (await allRecords(h, query)).length;
    assert.equal(await count(`&keyId=${ids.keyA1}`), 3);
    assert.equal(await count(`&appId=${ids.appA}`), 6);
    assert.equal(await count('&api=billing'), 2);
    assert.equal(await count(`&api=${ids.orders}`), 9);
    assert.equal(await count('&status=401'), 2);
    assert.equal(await count('&status=4xx'), 5);
    assert.equal(await count('&code=RATE_LIMITED'), 1);
    assert.equal(await count('&address=127.0.0.1'), 12);
    assert.equal(await count('&address=192.0.2.1'), 0);
    assert.equal(await count(`&appId=${ids.appA}&status=2xx`), 5);
    const bad = await h.admin('GET', '/requests?status=6xx');
    assert.equal(bad.status, 400);
  });

  test('the cursor pages through every record once, in order', async () => {
    const paged = await allRecords(h);
    const whole = (await h.admin('GET', '/requests?limit=1000')).body;
    assert.equal(whole.nextCursor, null);
    assert.deepEqual(
      paged.map((r) => r.requestId),
      whole.items.map((r: any) => r.requestId),
    );
  });

  test('a time range (since, until; RFC 3339 or a duration back from now) selects records by time', async () => {
    const t0 = h.clock.now;
    h.clock.advance(2 * 3_600_000);
    const later = await send('/orders/later', { key: secrets.keyA1 }, { keyId: ids.keyA1, appId: ids.appA, api: 'orders' });
    assert.equal(later.status, 200);
    await h.gh.requestLog!.flush();
    assert.equal((await allRecords(h, '&since=1h')).length, 1);
    assert.equal((await allRecords(h, `&since=${new Date(t0).toISOString()}`)).length, sent.length);
    assert.equal((await allRecords(h, `&until=${new Date(t0 + 1).toISOString()}`)).length, sent.length - 1);
    assert.equal((await allRecords(h, `&since=${new Date(t0 + 1).toISOString()}&until=${new Date(t0 + 3 * 3_600_000).toISOString()}`)).length, 1);
  });

  test('export: NDJSON and CSV, by Accept or format=, every matching record', async () => {
    const get = (query: string, accept?: string) =>
      fetch(`${h.gh.controlUrl}/admin/v1/requests${query}`, { headers: { authorization: `Bearer ${h.adminKey}`, ...(accept ? { accept } : {}) } });
    const ndjson = await get('?limit=2', 'application/x-ndjson');
    assert.equal(ndjson.status, 200);
    assert.match(ndjson.headers.get('content-type')!, /^application\/x-ndjson/);
    const lines = (await ndjson.text())
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, sent.length, 'an export is every record, not a page');
    assert.deepEqual(
      lines.map((l) => l.requestId),
      (await allRecords(h)).map((r) => r.requestId),
    );

    const csv = await get(`?format=csv&keyId=${ids.keyB}`);
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type')!, /^text\/csv/);
    assert.match(csv.headers.get('content-disposition')!, /attachment; filename="requests-.*\.csv"/);
    const rows = (await csv.text()).trimEnd().split('\r\n');
    const header = rows[0]!.split(',');
    assert.deepEqual(header.slice(0, 4), ['at', 'requestId', 'traceId', 'api']);
    assert.equal(rows.length, 1 + 3);
    const byName = (row: string) => Object.fromEntries(header.map((name, i) => [name, row.split(',')[i]]));
    assert.deepEqual(
      rows.slice(1).map((r) => byName(r).keyId),
      [ids.keyB, ids.keyB, ids.keyB],
    );
    assert.ok(rows.slice(1).some((r) => byName(r).query === 'month=12'));

    const byAccept = await get('', 'text/csv');
    assert.match(byAccept.headers.get('content-type')!, /^text\/csv/);
    await byAccept.text();
  });

  test('reading the log needs the requests:read permission', async () => {
    const { secret } = await adminKeysService.create(h.gh.ctx, { actor: 'test', requestId: null }, 'keys only', ['keys:read']);
    const res = await h.admin('GET', '/requests', undefined, secret);
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'PERMISSION_DENIED');
    assert.match(res.body.detail, /requests:read/);
  });

  test("gatehouse requests --key K --since 1h lists that key's requests (--json), and exports with --format", async () => {
    const env = { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey };
    const page = json(await runCli(['requests', '--key', ids.keyA1, '--since', '1h', '--json'], env));
    assert.equal(page.items.length, 1);
    assert.equal(page.items[0].path, '/orders/later');
    const text = await runCli(['requests', '--key', ids.keyA1], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\/orders\/later/);
    assert.match(text.stdout, /STATUS/);
    const csv = await runCli(['requests', '--app', ids.appB, '--format', 'csv'], env);
    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(csv.stdout.trimEnd().split('\r\n').length, 1 + 3);
    const bad = await runCli(['requests', '--since', 'yesterday'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /since/);
  });
});

describe('request log: retention, graceful stop, opt-out by PATCH', () => {
  test('old days are deleted after requestLog.retentionDays, by the injected clock; the days kept stay whole', async () => {
    const h = await startHarness({ GATEHOUSE_REQUEST_LOG_RETENTION_DAYS: '2' });
    try {
      const api = await h.admin('POST', '/apis', { name: 'open', listenPath: '/open', upstreamUrl: h.upstream.url, auth: { type: 'public' } });
      assert.equal(api.status, 201, JSON.stringify(api.body));
      // One request a day, at noon, for five days, each written that day (the log flushes every second).
      for (let day = 0; day < 5; day++) {
        assert.equal((await call(h, `/open/day-${day}`)).status, 200);
        await h.gh.requestLog!.flush();
        h.clock.advance(DAY);
      }
      assert.equal((await h.admin('GET', '/requests')).body.items.length, 5);
      // Today is day 5: days 3 and 4 are within two days, days 0-2 are not.
      const deleted = await h.gh.requestLog!.prune();
      assert.equal(deleted, 3);
      const kept = (await h.admin('GET', '/requests')).body.items.map((r: any) => r.path);
      assert.deepEqual(kept, ['/open/day-4', '/open/day-3']);
      const health = h.gh.health.report().components['request-log-retention'];
      assert.equal(health?.ok, true);
      assert.equal(health?.critical, false);
    } finally {
      await h.close();
    }
  });

  test('a graceful stop writes every buffered record', async () => {
    const h = await startHarness({ GATEHOUSE_REQUEST_LOG_FLUSH_INTERVAL_MS: '3600000', GATEHOUSE_REQUEST_LOG_FLUSH_RECORDS: '50000' });
    const path = join(h.dir, 'gatehouse.db');
    try {
      const api = await h.admin('POST', '/apis', { name: 'open', listenPath: '/open', upstreamUrl: h.upstream.url, auth: { type: 'public' } });
      assert.equal(api.status, 201);
      for (let i = 0; i < 25; i++) assert.equal((await call(h, `/open/${i}`)).status, 200);
      assert.equal(h.gh.requestLog!.pending(), 25, 'still buffered');
      await h.gh.close();
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        const row = db.prepare('SELECT SUM(entries) AS n FROM request_log_batches').get() as { n: number };
        assert.equal(row.n, 25);
      } finally {
        db.close();
      }
    } finally {
      await h.close();
    }
  });

  test('a client that leaves before the answer is logged too, with status 0', async () => {
    const h = await startHarness();
    try {
      const api = await h.admin('POST', '/apis', { name: 'open', listenPath: '/open', upstreamUrl: h.upstream.url, auth: { type: 'public' } });
      assert.equal(api.status, 201);
      const abort = new AbortController();
      const gone = fetch(`${h.gh.gatewayUrl}/open/slow`, { signal: abort.signal });
      while (!h.upstream.requests.some((r) => r.url === '/slow')) await new Promise((r) => setTimeout(r, 5));
      abort.abort();
      await assert.rejects(gone);
      while (h.gh.requestLog!.pending() === 0) await new Promise((r) => setTimeout(r, 5));
      await h.gh.requestLog!.flush();
      const [record] = (await h.admin('GET', '/requests')).body.items;
      assert.equal(record.path, '/open/slow');
      assert.equal(record.status, 0);
      assert.equal(record.denialCode, null);
    } finally {
      await h.close();
    }
  });

  test('PATCH requestLog: false stops logging an API at once; true starts again', async () => {
    const h = await startHarness();
    try {
      const api = await h.admin('POST', '/apis', { name: 'open', listenPath: '/open', upstreamUrl: h.upstream.url, auth: { type: 'public' } });
      assert.equal(api.body.requestLog, true);
      assert.equal((await call(h, '/open/1')).status, 200);
      const off = await h.admin('PATCH', `/apis/${api.body.id}`, { requestLog: false });
      assert.equal(off.body.requestLog, false);
      assert.equal((await call(h, '/open/2')).status, 200);
      await h.admin('PATCH', `/apis/${api.body.id}`, { requestLog: { query: true } });
      assert.equal((await call(h, '/open/3?x=1')).status, 200);
      await h.gh.requestLog!.flush();
      const items = (await h.admin('GET', '/requests')).body.items;
      assert.deepEqual(
        items.map((r: any) => `${r.path}${r.query ? `?${r.query}` : ''}`),
        ['/open/3?x=1', '/open/1'],
      );
    } finally {
      await h.close();
    }
  });
});

describe('request log under pressure', () => {
  test('while the store is locked the gateway keeps serving, the bounded buffer drops what does not fit and counts it (readiness warns, metrics count); then it recovers', async () => {
    const h = await startHarness({
      GATEHOUSE_STORE_BUSY_TIMEOUT_MS: '100',
      GATEHOUSE_REQUEST_LOG_BUFFER_RECORDS: '20',
      GATEHOUSE_REQUEST_LOG_FLUSH_RECORDS: '5',
      GATEHOUSE_REQUEST_LOG_FLUSH_INTERVAL_MS: '20',
    });
    // It waits for a write Gatehouse has under way (a flush) before it takes the lock.
    const holder = new DatabaseSync(join(h.dir, 'gatehouse.db'), { timeout: 5000 });
    try {
      const api = await h.admin('POST', '/apis', { name: 'open', listenPath: '/open', upstreamUrl: h.upstream.url, auth: { type: 'public' } });
      assert.equal(api.status, 201);
      const log = h.gh.requestLog!;
      holder.exec('BEGIN EXCLUSIVE');
      const sent = 60;
      const started = performance.now();
      for (let i = 0; i < sent; i++) assert.equal((await call(h, `/open/${i}`)).status, 200);
      const elapsed = performance.now() - started;
      assert.ok(log.dropped() > 0, 'records that did not fit were dropped');
      assert.ok(log.pending() <= 20, 'the buffer is bounded');
      // Flush rounds fail (SQLITE_BUSY) or drop: readiness warns, and stays ready.
      while (h.gh.health.report().components['request-log']?.ok !== false) await new Promise((r) => setTimeout(r, 10));
      const ready = await fetch(`${h.gh.controlUrl}/readyz`);
      assert.equal(ready.status, 200, 'a warning, not unready');
      const report = (await ready.json()) as any;
      assert.equal(report.components['request-log'].critical, false);
      assert.match(report.components['request-log'].lastError, /dropped|SQLITE_BUSY/);
      // 60 requests with 100 ms lock waits behind them would take seconds on the event loop.
      assert.ok(elapsed < 3000, `served in ${elapsed} ms`);
      holder.exec('ROLLBACK');
      await log.flush();
      const written = (await h.admin('GET', '/requests?limit=1000')).body.items.length;
      assert.equal(written + log.dropped(), sent, 'every request is either written or counted as dropped');
      const scraped = await (await fetch(`${h.gh.controlUrl}/metrics`)).text();
      assert.match(scraped, new RegExp(`^gatehouse_records_lost_total\\{log="request_log",reason="buffer_full"\\} ${log.dropped()}$`, 'm'));
      assert.match(scraped, /^gatehouse_records_lost_total\{log="request_log",reason="refused"\} 0$/m);
      // The next round without drops clears the warning.
      while (h.gh.health.report().components['request-log']?.ok !== true) await new Promise((r) => setTimeout(r, 10));
    } finally {
      if (holder.isTransaction) holder.exec('ROLLBACK');
      holder.close();
      await h.close();
    }
  });
});

describe('request log: bearer tokens', () => {
  test('a request with an access token records its user and client, never the token', async () => {
    const h = await startAuthHarness({ GATEHOUSE_TEST_GATEWAY: 'https' });
    try {
      const api = await h.api('orders', ['orders:read'], { auth: { type: 'bearer' } });
      const client = await h.client({ name: 'Reader', grantTypes: ['client_credentials'], scopes: ['orders:read'], apiIds: [api.id] });
      const grant = await oauth.clientCredentialsGrantRequest(h.as, client.client, client.auth, { scope: 'orders:read' }, insecure);
      const token = (await oauth.processClientCredentialsResponse(h.as, client.client, grant)).access_token;
      assert.equal((await call(h, '/orders/items', { key: token })).status, 200);
      await h.gh.requestLog!.flush();
      const [record] = (await h.admin('GET', `/requests?user=${client.id}`)).body.items;
      assert.equal(record.user, client.id);
      assert.equal(record.clientId, client.id);
      assert.equal(record.keyId, null);
      assert.ok(!storedText(h).includes(token.split('.')[2]!), 'no part of the token');
    } finally {
      await h.close();
    }
  });
});

describe('request log reads', () => {
  test('while the admin API scans a large request log, the gateway keeps answering (the scan runs on a thread of its own)', async () => {
    const h = await startHarness();
    try {
      const api = await h.admin('POST', '/apis', { name: 'open', listenPath: '/open', upstreamUrl: h.upstream.url, auth: { type: 'public' } });
      assert.equal(api.status, 201);
      const db = new DatabaseSync(join(h.dir, 'gatehouse.db'));
      try {
        db.exec('BEGIN');
        const insert = db.prepare('INSERT INTO request_log_batches (first_at, last_at, entries, bytes) VALUES (?, ?, ?, ?)');
        for (let part = 0; part < 800; part++) {
          const entries = Array.from({ length: 500 }, (_, i) => bulkEntry(h.clock.now - part * 500 - i, `bulk-${part * 500 + i}`));
          insert.run(h.clock.now - part * 500 - 499, h.clock.now - part * 500, 500, entryBatch(entries).bytes);
        }
        db.exec('COMMIT');
      } finally {
        db.close();
      }
      // No record has this status: the read scans every row of the range.
      let scanned = false;
      const started = performance.now();
      const scan = h.admin('GET', '/requests?status=599').then((res) => {
        scanned = true;
        return res;
      });
      const during = await call(h, '/open/during');
      assert.equal(during.status, 200);
      assert.equal(scanned, false, 'the gateway answered while the scan ran');
      const res = await scan;
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.items, []);
      assert.ok(performance.now() - started > 20, 'the scan took long enough to matter');
    } finally {
      await h.close();
    }
  });
});
