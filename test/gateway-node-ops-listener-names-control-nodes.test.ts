import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from './support/harness.ts';
import { TEST_MASTER_KEY } from './support/oauth.ts';

/**
 * A gateway node's control listener serves probes and metrics only. Asked for what control nodes
 * serve (the authorization server, its sign-in pages, the web app), it must say so, as it does for
 * the admin API: it said "the authorization server is off (no master key)" on a node that has one,
 * and "configure a master key" for the web app, sending the operator to the wrong setting.
 */
describe('a gateway node’s ops listener, asked for what control nodes serve', () => {
  let control: Harness;
  let gateway: Harness;
  before(async () => {
    control = await startHarness({ GATEHOUSE_NODE_ROLE: 'control', GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY });
    gateway = await startHarness({
      GATEHOUSE_NODE_ROLE: 'gateway',
      GATEHOUSE_NODE_SINGLE_MACHINE: 'true',
      GATEHOUSE_STORE_PATH: `${control.dir}/gatehouse.db`,
      GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY,
    });
  });
  after(async () => {
    await gateway?.close();
    await control?.close();
  });

  for (const [path, init] of [
    ['/.well-known/openid-configuration', {}],
    ['/token', { method: 'POST', body: 'grant_type=client_credentials', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
    ['/console/', {}],
    ['/bff/session', {}],
    ['/portal/v1/apis', {}],
  ] as const) {
    test(`${path}: a problem naming the control nodes, never the master key`, async () => {
      const res = await fetch(`${gateway.gh.controlUrl}${path}`, init);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const body = (await res.json()) as { code: string; detail: string };
      assert.equal(res.status, 404, JSON.stringify(body));
      assert.equal(body.code, 'ROUTE_NOT_FOUND');
      assert.match(body.detail, /gateway node.*control nodes/);
      assert.doesNotMatch(body.detail, /master key/);
    });
  }
});
