import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../src/config/load.ts';
import { createDataPlane, ROUTES } from '../src/data-plane.ts';
import { createLocalChangeBus } from '../src/events/change-bus.ts';
import { Health } from '../src/telemetry/health.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A data plane over a store whose `apis.all` the test controls; everything else is never called here. */
async function plane(all: () => Promise<unknown[]>) {
  const config = loadConfig({ env: { GATEHOUSE_PEPPER: 'pepper-A-0123456789abcdefghijklmnopqrstuvwxyz', GATEHOUSE_GATEWAY_WORKERS: '1' } });
  const log = pino({ level: 'silent' });
  const health = new Health(log, Date.now);
  const changes = createLocalChangeBus();
  const stub = {} as never;
  const dp = await createDataPlane({
    config,
    log,
    clock: Date.now,
    health,
    readiness: () => ({ ...health.report() }) as never,
    metrics: null,
    tracing: null,
    store: { apis: { all }, usage: stub } as never,
    changes,
    verifier: stub,
    revocations: stub,
    trusted: () => [],
    limiter: stub,
    throttle: stub,
    dpop: stub,
    usage: stub,
    requestLog: null,
    analytics: null,
    onExposed: () => undefined,
    ownIssuer: () => null,
    identityJwt: () => null,
  });
  return { dp, health, changes };
}

test('a route rebuild that fails after the plane stopped is not tried again: no rebuild runs after stop', async () => {
  let reads = 0;
  let failing = false;
  const { dp, changes } = await plane(async () => {
    reads++;
    if (!failing) return [];
    await sleep(100);
    throw new Error('connection terminated unexpectedly');
  });
  failing = true;
  changes.publish({ type: 'api.changed', apiId: 'api_1' } as never);
  // The gateway stops (shutdown, or the main thread's hand-over to the workers) while that reread is under way.
  await dp.stop(async () => undefined);
  await sleep(150);
  const atStop = reads;
  await sleep(2300);
  assert.equal(reads, atStop, 'the stopped plane read the store again (a retry scheduled after stop)');
});

test("a plane stopped with its route rebuild failed (the main thread's hand-over) does not keep the node unready for good", async () => {
  let failing = false;
  const { dp, health, changes } = await plane(async () => {
    if (failing) throw new Error('connection terminated unexpectedly');
    return [];
  });
  failing = true;
  changes.publish({ type: 'api.changed', apiId: 'api_1' } as never);
  await sleep(10);
  assert.equal(health.report().components[ROUTES]?.ok, false, 'the rebuild failed');
  // The workers listen: the main thread hands the port over and stops its plane; its table serves nothing any more.
  await dp.stop(async () => undefined);
  failing = false;
  await sleep(2300);
  // The main thread's Health is the node's: with workers it is published to every worker's /readyz (nodeReady).
  assert.equal(health.report().ready, true, 'the node stays unready: a component of a plane that no longer serves, never retried');
});
