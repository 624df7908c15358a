import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { AuditChange } from '../store/port.ts';
import { Health } from '../telemetry/health.ts';
import { createLocalChangeBus, type ChangeEvent } from './change-bus.ts';
import { changeEventOf, StoreChangeFeed } from './store-change-feed.ts';

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

test('a doorbell that rings while a read is under way is answered by another read, not left to the next poll', async () => {
  const committed: AuditChange[] = [];
  let release: () => void = () => undefined;
  let gate: Promise<void> | null = null;
  const audit = {
    lastSeq: async () => 0,
    // The read's snapshot is taken when it starts; its answer may come later.
    async after(afterSeq: number, limit: number) {
      const seen = committed.filter((c) => c.seq > afterSeq).slice(0, limit);
      if (gate) await gate;
      return seen;
    },
  };
  const changes = createLocalChangeBus();
  const heard: ChangeEvent[] = [];
  changes.subscribe((event) => heard.push(event));
  // A poll far away: only the doorbell can bring the change in time.
  const feed = new StoreChangeFeed({ audit, changes, health: new Health(pino({ level: 'silent' }), Date.now), intervalMs: 60_000 });
  await feed.start();
  gate = new Promise((resolve) => (release = resolve));
  feed.poke(); // a ring for some earlier change: this read's snapshot has nothing new
  await new Promise((resolve) => setImmediate(resolve));
  committed.push({ seq: 1, at: 1, action: 'key.revoked', targetType: 'key', targetId: 'key_1' });
  feed.poke(); // the ring for the revocation, heard while the first read is under way
  gate = null;
  release();
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
  await feed.stop();
  assert.deepEqual(heard, [{ type: 'key.changed', keyId: 'key_1' }]);
  assert.equal(feed.seq, 1);
});
