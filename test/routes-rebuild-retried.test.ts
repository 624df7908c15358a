import assert from 'node:assert/strict';
import { test } from 'node:test';
import { call, startHarness } from './support/harness.ts';

test('a route rebuild that failed (the store away for a moment) is retried: the new API is routed and the node is ready again', async () => {
  const h = await startHarness();
  try {
    const apis = h.gh.ctx.store.apis as { all: () => Promise<unknown> };
    const all = apis.all;
    let storeAway = true;
    apis.all = () => (storeAway ? Promise.reject(new Error('connection terminated unexpectedly')) : all.call(apis));
    // An API published while the store blips: its api.changed event reaches the gateway, whose reread fails.
    const created = await h.admin('POST', '/apis', { name: 'orders', listenPath: '/orders', upstreamUrl: h.upstream.url, auth: { type: 'public' } });
    assert.equal(created.status, 201);
    // Past the change feed's next poll (1 s), which reads the same audit entry and asks for a rebuild again: it fails too.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(h.gh.health.report().components.routes?.ok, false, 'the rebuild failed');
    storeAway = false;
    // The store is back: within a few seconds the route table is rebuilt and readiness recovers.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !h.gh.health.report().ready) await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.gh.health.report().ready, true, 'ready again once the store is back');
    assert.equal((await call(h, '/orders/x')).status, 200, 'the API published during the blip is routed');
  } finally {
    await h.close();
  }
});
