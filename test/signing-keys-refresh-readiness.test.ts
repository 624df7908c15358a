import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { createLocalChangeBus } from '../src/events/change-bus.ts';
import { Health } from '../src/telemetry/health.ts';
import { ownIssuer } from '../src/verification/issuers.ts';

test('a signing-key refresh that fails once (store blip) does not leave the node unready after the store is back', async () => {
  const health = new Health(pino({ level: 'silent' }), Date.now);
  const changes = createLocalChangeBus();
  let storeAway = false;
  const repo = { all: async () => (storeAway ? Promise.reject(new Error('connection terminated unexpectedly')) : []) };
  const own = ownIssuer('https://auth.example', repo as never, changes, Date.now, health);
  await own.refresh();
  assert.equal(health.report().ready, true);
  // Another node rotated: the change is read, but the keys' reread fails.
  storeAway = true;
  changes.publish({ type: 'signing_keys.changed' });
  await new Promise((r) => setTimeout(r, 20));
  storeAway = false;
  // The previously published keys still verify and an unknown kid rereads the store on demand:
  // readiness (a load balancer's verdict on this node) must not stay false until the next rotation.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(health.report().ready, true, JSON.stringify(health.report().components));
});
