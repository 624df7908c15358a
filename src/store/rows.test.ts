import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeEndpoint } from './contract/webhooks.ts';
import { endpointData, endpointFromData } from './rows.ts';

// What a node from before app scopes (a rolling upgrade) does with an endpoint's stored data: it
// subscribes the endpoint to `data.events`, and writes back what it read plus its own changes.
test('a node from before app scopes reads no event types on an app’s endpoint, so it sends it no other app’s events', () => {
  const scoped = makeEndpoint({ appId: 'app_a', events: ['key.created', 'key.revoked'], consecutiveFailures: 2 });
  const stored = JSON.parse(JSON.stringify(endpointData(scoped))) as Record<string, unknown>;
  assert.deepEqual(stored.events, []);
  assert.deepEqual(endpointFromData(stored as never, 2), scoped);
  // The older node disables it after failures: what it writes back still reads as the same subscription.
  const rewritten = { ...stored, enabled: false, disabledReason: 'failures' };
  assert.deepEqual(endpointFromData(rewritten as never, 5), { ...scoped, enabled: false, disabledReason: 'failures', consecutiveFailures: 5 });
});

test('an operator’s endpoint is stored as it always was', () => {
  const endpoint = makeEndpoint({ events: ['login.failed_burst'] });
  const stored = JSON.parse(JSON.stringify(endpointData(endpoint))) as Record<string, unknown>;
  assert.deepEqual(stored.events, ['login.failed_burst']);
  assert.equal('appEvents' in stored, false);
  assert.deepEqual(endpointFromData(stored as never, 0), endpoint);
});
