import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../src/config/load.ts';
import { runCli } from './support/cli.ts';
import { call, seed, startHarness, TEST_PEPPER } from './support/harness.ts';
import { waitFor } from './support/wait.ts';

/**
 * `gatehouse start --role` (node.role): what a gateway node and a control node each serve, on the
 * embedded store (test/multi-node.test.ts runs them as processes on PostgreSQL and Redis).
 */
describe('node roles', () => {
  test('a gateway node on the embedded SQLite store is refused, saying why and what to do', async () => {
    await assert.rejects(startHarness({ GATEHOUSE_NODE_ROLE: 'gateway' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /store\.driver postgres/);
      assert.match(error.message, /node\.singleMachine/);
      return true;
    });
  });

  test('--role takes all, control or gateway only', async () => {
    const run = await runCli(['start', '--role', 'edge'], { GATEHOUSE_PEPPER: TEST_PEPPER });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--role takes one of all, control, gateway/);
  });

  test('beside a control node on one machine, a gateway node serves the data plane and, on its control listener, only probes', async () => {
    const control = await startHarness({ GATEHOUSE_NODE_ROLE: 'control', GATEHOUSE_CHANGES_POLL_INTERVAL_SECONDS: '0.05' });
    const gateway = await startHarness({
      GATEHOUSE_NODE_ROLE: 'gateway',
      GATEHOUSE_NODE_SINGLE_MACHINE: 'true',
      GATEHOUSE_STORE_PATH: `${control.dir}/gatehouse.db`,
      GATEHOUSE_CHANGES_POLL_INTERVAL_SECONDS: '0.05',
    });
    try {
      assert.equal(control.gh.role, 'control');
      assert.equal(control.gh.gatewayUrl, '', 'a control node has no gateway listener');
      assert.equal(gateway.gh.role, 'gateway');
      // Objects made through the control node reach the gateway node through the store's change feed.
      const ids = await seed(control);
      await waitFor(async () => (await call(gateway, '/orders/1', { key: ids.secret })).status === 200, { what: 'the API on the gateway node' });
      const admin = await gateway.admin('GET', '/keys');
      assert.equal(admin.status, 404);
      assert.equal(admin.body.code, 'ROUTE_NOT_FOUND');
      assert.match(admin.body.detail ?? admin.body.title, /control nodes/);
      const ready = await waitFor(async () => {
        const body = (await (await fetch(`${gateway.gh.controlUrl}/readyz`)).json()) as any;
        return body.engines?.sqlite?.status === 'up' && body;
      });
      assert.equal(ready.role, 'gateway');
      assert.equal(typeof ready.engines.sqlite.latencyMs, 'number');
      assert.equal(ready.components['key-rotation-scan'], undefined, 'rotation runs on control nodes');
      // The gateway listener's /readyz names the engines too, without error texts.
      const onGateway = (await (await fetch(`${gateway.gh.gatewayUrl}/readyz`)).json()) as any;
      assert.equal(onGateway.engines.sqlite.status, 'up');
      assert.equal('error' in onGateway.engines.sqlite, false);
      // Usage counted on the gateway node reaches the store, where the control node reads it.
      await gateway.gh.ctx.usage.flush();
      const usage = await control.admin('GET', `/keys/${ids.keyId}/usage`);
      assert.equal(
        (usage.body.days as { requests: number }[]).reduce((sum, d) => sum + d.requests, 0),
        1,
      );
    } finally {
      await gateway.close();
      await control.close();
    }
  });
});
