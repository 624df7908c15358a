import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLocalChangeBus } from '../events/change-bus.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import pino from 'pino';
import { Health } from '../telemetry/health.ts';
import { REVOCATION_FEED, RevocationList } from './revocation-list.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-revocations-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a revocation made on one node is seen on another at its next poll; a local one at once', async () => {
  const path = join(dir, 'shared.db');
  const nodeA = openSqliteStore(path);
  await nodeA.migrate();
  const nodeB = openSqliteStore(path);
  let now = 1_000_000;
  const changesB = createLocalChangeBus();
  const list = new RevocationList(nodeB.revocations, changesB, () => now);
  await list.refresh();
  try {
    await nodeA.revocations.add({ kind: 'grant', id: 'grant-1', revokedAt: now, expiresAt: now + 60_000 });
    assert.equal(list.isRevoked('grant-1', undefined), false, 'not yet polled');
    now += 5000;
    await list.refresh();
    assert.equal(list.isRevoked('grant-1', undefined), true);
    assert.equal(list.isRevoked(undefined, 'grant-1'), false, 'grants and token ids are separate');

    changesB.publish({ type: 'token.revoked', kind: 'token', id: 'jti-1' });
    assert.equal(list.isRevoked(undefined, 'jti-1'), true, 'local revocations need no poll');

    now += 60_000;
    await list.refresh();
    assert.equal(list.isRevoked('grant-1', undefined), false, 'forgotten once every token it covered has expired');
  } finally {
    await nodeA.close();
    await nodeB.close();
  }
});

test("a poll that fails is reported to readiness, not dropped: other nodes' revocations would stop arriving", { timeout: 10_000 }, async () => {
  const store = openSqliteStore(join(dir, 'failing.db'));
  await store.migrate();
  const health = new Health(pino({ level: 'silent' }), Date.now);
  const list = new RevocationList(store.revocations, createLocalChangeBus(), Date.now);
  await list.start(5, health);
  try {
    await store.close();
    while (health.report().components[REVOCATION_FEED]?.ok !== false) await new Promise((r) => setTimeout(r, 5));
    assert.equal(health.report().ready, false);
    assert.match(health.report().components[REVOCATION_FEED]!.lastError!, /finalized|not open/);
  } finally {
    list.stop();
  }
});

test("a revocation committed after another node's poll began is still seen (it is stamped when its revoke began, or by a clock behind this one)", async () => {
  const path = join(dir, 'late-commit.db');
  const nodeA = openSqliteStore(path);
  await nodeA.migrate();
  const nodeB = openSqliteStore(path);
  let now = 1_000_000;
  const list = new RevocationList(nodeB.revocations, createLocalChangeBus(), () => now);
  await list.refresh();
  try {
    // Node A revokes a grant: grantsService.revokeGrant reads its clock first, then deletes the grant's
    // records (store round trips, a busy pool), and adds the revocation with that earlier time.
    const revokedAt = now;
    now += 2000;
    await list.refresh(); // node B polls meanwhile: nothing committed yet
    await nodeA.revocations.add({ kind: 'grant', id: 'grant-late', revokedAt, expiresAt: revokedAt + 3_600_000 });
    now += 5000;
    await list.refresh();
    assert.equal(list.isRevoked('grant-late', undefined), true, 'the revocation is never seen on this node');
  } finally {
    await nodeA.close();
    await nodeB.close();
  }
});
