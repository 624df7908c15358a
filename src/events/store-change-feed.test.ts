import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeEventOf } from './store-change-feed.ts';

const key = (action: string) => changeEventOf({ action, targetType: 'key', targetId: 'key_1' });

test('a change to a key drops it from every node’s cache', () => {
  for (const action of ['key.updated', 'key.revoked', 'key.rotated', 'key.deleted', 'key.exposed', 'key.compromised', 'key.rotation_expired'])
    assert.deepEqual(key(action), { type: 'key.changed', keyId: 'key_1' }, action);
});

test('a key created or a token exchanged from it drops nothing: an entry loaded just after is fresh and stays', () => {
  // Dropping it made the next request a second store read, and left no stale entry to serve if the
  // store went away just then.
  assert.equal(key('key.created'), null);
  assert.equal(key('key.exchanged'), null);
});

test('policies, APIs, clients and signing keys name the cache they make stale; other entries none', () => {
  assert.deepEqual(changeEventOf({ action: 'policy.updated', targetType: 'policy', targetId: 'pol_1' }), { type: 'policy.changed', policyId: 'pol_1' });
  assert.deepEqual(changeEventOf({ action: 'api.created', targetType: 'api', targetId: 'api_1' }), { type: 'api.changed', apiId: 'api_1' });
  assert.deepEqual(changeEventOf({ action: 'client.updated', targetType: 'client', targetId: 'c_1' }), { type: 'client.changed', clientId: 'c_1' });
  assert.deepEqual(changeEventOf({ action: 'signing_key.rotated', targetType: 'signing_key', targetId: 'k' }), { type: 'signing_keys.changed' });
  assert.equal(changeEventOf({ action: 'app.created', targetType: 'app', targetId: 'app_1' }), null);
});
