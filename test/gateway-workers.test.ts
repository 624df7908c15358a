import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { seed, startHarness, TestClock, type Harness } from './support/harness.ts';

/** Requests each on a new connection, so the kernel (SO_REUSEPORT) picks a worker for each. */
const fresh = new Agent({ pipelining: 0, keepAliveTimeout: 1, connections: 1 });
async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await request(url, { headers: { ...headers, connection: 'close' }, dispatcher: fresh });
  return { status: res.statusCode, body: await res.body.text() };
}

const statuses = async (h: Harness, n: number, secret: string) =>
  (await Promise.all(Array.from({ length: n }, () => get(`${h.gh.gatewayUrl}/orders/x`, { 'x-api-key': secret })))).map((r) => r.status);
const count = (list: number[], status: number) => list.filter((s) => s === status).length;

describe('the gateway on two worker threads', () => {
  let h: Harness;
  let ids: Awaited<ReturnType<typeof seed>>;
  before(async () => {
    h = await startHarness({ GATEHOUSE_GATEWAY_WORKERS: '2', GATEHOUSE_AUTH_FAILURES_LIMIT: '1000' }, TestClock.wall());
    ids = await seed(h);
  });
  after(() => h.close());

  test('connections are spread over both workers, each answering for itself (the main thread no longer serves)', async () => {
    const answered = new Set<string>();
    for (let i = 0; i < 60 && answered.size < 2; i++) {
      const probe = JSON.parse((await get(`${h.gh.gatewayUrl}/readyz`)).body) as { components: Record<string, unknown> };
      // The main thread, which serves until the workers listen, would name every worker.
      const workers = Object.keys(probe.components).filter((name) => /^gateway-worker-\d$/.test(name));
      assert.equal(workers.length, 1, `one worker answers: ${workers.join(', ')}`);
      answered.add(workers[0]!);
    }
    assert.deepEqual([...answered].sort(), ['gateway-worker-0', 'gateway-worker-1']);
    const ready = (await fetch(`${h.gh.controlUrl}/readyz`)).status;
    assert.equal(ready, 200, 'the control plane is ready with both workers up');
  });

  test('a rate limit of N across both workers admits exactly N of many concurrent requests', async () => {
    const key = await h.admin('POST', '/keys', {
      appId: ids.appId,
      access: [{ apiId: ids.apiId }],
      rateLimits: [{ name: 'per-hour', limit: 30, windowSeconds: 3600 }],
    });
    const got = await statuses(h, 100, key.body.secret);
    assert.equal(count(got, 200), 30);
    assert.equal(count(got, 429), 70);
  });

  test('a quota of N across both workers admits exactly N of many concurrent requests', async () => {
    const key = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], quota: { limit: 17, period: 'day' } });
    const got = await statuses(h, 80, key.body.secret);
    assert.equal(count(got, 200), 17);
    assert.equal(count(got, 429), 63);
  });

  test('a key revoked through the admin API is refused at once by every worker', async () => {
    const key = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    assert.deepEqual(new Set(await statuses(h, 20, key.body.secret)), new Set([200]), 'both workers have the key cached');
    assert.equal((await h.admin('POST', `/keys/${key.body.id}/revoke`, { reason: 'leaked' })).status, 200);
    assert.deepEqual(new Set(await statuses(h, 40, key.body.secret)), new Set([401]));
  });

  test('/metrics counts the requests of both workers', async () => {
    const scrape = async () => {
      const text = await (await fetch(`${h.gh.controlUrl}/metrics`)).text();
      return text
        .split('\n')
        .filter((line) => line.startsWith('gatehouse_gateway_requests_total{'))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    };
    const before = await scrape();
    assert.deepEqual(new Set(await statuses(h, 40, ids.secret)), new Set([200]));
    assert.equal((await scrape()) - before, 40);
  });
});

test('a graceful stop of two workers loses no usage count, no request record and no analytics count', async () => {
  const h = await startHarness({ GATEHOUSE_GATEWAY_WORKERS: '2' }, TestClock.wall());
  const ids = await seed(h);
  const path = `${h.dir}/gatehouse.db`;
  const got = await statuses(h, 50, ids.secret);
  assert.equal(count(got, 200), 50);
  // Usage flushes hourly in tests and records wait in the workers' buffers: only the stop writes them.
  await h.gh.close();
  const store = openSqliteStore(path, { busyTimeoutMs: 1000 });
  try {
    const usage = await store.usage.requestsByDay(ids.keyId);
    assert.equal(
      usage.reduce((sum, d) => sum + d.requests, 0),
      50,
    );
    const records = await store.requestLog.query({ keyId: ids.keyId }, { limit: 200 });
    assert.equal(records.items.length, 50);
    const [total] = await store.usageAnalytics.query({
      granularity: 'day',
      from: 0,
      until: Date.now() + 86_400_000,
      groupBy: [],
      filters: { key: ids.keyId },
      perBucket: false,
      limit: 10,
    });
    assert.equal(total?.requests, 50, 'both workers counted their requests in usage analytics');
  } finally {
    await store.close();
    await h.close().catch(() => {});
  }
});

test("what the workers lose at stop (their last hand-over failed) stays in the main thread's gatehouse_records_lost_total once they exit", async () => {
  const h = await startHarness({ GATEHOUSE_GATEWAY_WORKERS: '2', GATEHOUSE_STORE_BUSY_TIMEOUT_MS: '100' }, TestClock.wall());
  const ids = await seed(h);
  const holder = new DatabaseSync(`${h.dir}/gatehouse.db`, { timeout: 5000 });
  const lost = (text: string, log: string) =>
    Number(new RegExp(`^gatehouse_records_lost_total\\{log="${log}",reason="last_flush_failed"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  try {
    assert.equal(count(await statuses(h, 20, ids.secret), 200), 20);
    // The store is locked past the busy timeout: the workers' records and analytics cells, handed to the
    // main thread at stop, cannot be written, and the workers count them as lost, then exit.
    holder.exec('BEGIN EXCLUSIVE');
    await assert.rejects(h.gh.close(), /not counted|not written/);
    const text = await h.gh.metrics!.scrape();
    assert.equal(lost(text, 'request_log'), 20, 'every request record lost, whichever thread held it');
    assert.equal(lost(text, 'analytics'), 20, 'every analytics count lost, whichever thread held it');
  } finally {
    if (holder.isTransaction) holder.exec('ROLLBACK');
    holder.close();
    await h.close().catch(() => {});
  }
});

test('while the workers start, the main thread serves the gateway port; once they listen, only they do', async () => {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  // Polls the port from before the start: the first answer is whoever listened first.
  let firstAnswer: { engines?: unknown } | null = null;
  let starting = true;
  const polled = (async () => {
    while (starting && firstAnswer === null) {
      // Refused: nothing listens yet.
      const answer = await get(`http://127.0.0.1:${port}/readyz`).catch((error: Error & { code?: string }) => {
        if (error.code !== 'ECONNREFUSED') throw error;
        return null;
      });
      if (answer) firstAnswer = JSON.parse(answer.body) as { engines?: unknown };
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  const h = await startHarness({ GATEHOUSE_GATEWAY_WORKERS: '2', GATEHOUSE_GATEWAY_HOST: '127.0.0.1', GATEHOUSE_GATEWAY_PORT: String(port) }, TestClock.wall());
  starting = false;
  try {
    await polled;
    // The main thread's readiness reports the engines it probes; a worker's does not.
    assert.ok(firstAnswer !== null && 'engines' in firstAnswer!, `the main thread answered first: ${JSON.stringify(firstAnswer)}`);
    for (let i = 0; i < 20; i++) {
      const answer = JSON.parse((await get(`${h.gh.gatewayUrl}/readyz`)).body) as { engines?: unknown };
      assert.ok(!('engines' in answer), 'after the start, a worker answers every new connection');
    }
  } finally {
    await h.close();
  }
});

for (const workers of ['1', '2']) {
  test(`a request in flight when Gatehouse stops (${workers} gateway thread${workers === '1' ? '' : 's'}) is answered, counted and recorded`, async () => {
    const h = await startHarness({ GATEHOUSE_GATEWAY_WORKERS: workers }, TestClock.wall());
    try {
      const ids = await seed(h);
      // The upstream answers /slow after 1.5 s: the stop comes while the request waits for it.
      const answer = get(`${h.gh.gatewayUrl}/orders/slow`, { 'x-api-key': ids.secret }).catch((error: Error) => error.message);
      while (!h.upstream.requests.some((r) => r.url === '/slow')) await new Promise((resolve) => setTimeout(resolve, 10));
      await h.gh.close();
      assert.deepEqual(await answer, { status: 200, body: 'late' }, 'the answer in progress was let finish');
      const store = openSqliteStore(`${h.dir}/gatehouse.db`, { busyTimeoutMs: 1000 });
      try {
        const usage = await store.usage.requestsByDay(ids.keyId);
        assert.equal(
          usage.reduce((sum, d) => sum + d.requests, 0),
          1,
        );
        const records = await store.requestLog.query({ keyId: ids.keyId }, { limit: 10 });
        assert.deepEqual(
          records.items.map((r) => [r.path, r.status]),
          [['/orders/slow', 200]],
        );
      } finally {
        await store.close();
      }
    } finally {
      await h.close().catch(() => {});
    }
  });
}
