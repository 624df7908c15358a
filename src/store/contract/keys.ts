import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { ApiKey, App } from '../../domain/entities.ts';
import { ConflictError, type Store } from '../port.ts';
import { T0, audit, allAudit, allKeyIds, makeApp, makePolicy, makeKey, storeKey } from './fixtures.ts';

/** API keys: lookups by id and hash, filtered lists, rotation, and deletion with the usage that goes with it. */
export function keysContract(current: () => Store): void {
  describe('keys', () => {
    let store: Store;
    let app: App;
    beforeEach(async () => {
      store = current();
      app = makeApp(1);
      await store.apps.create(app, audit('app.created', 'app', app.id));
    });
    const createKey = (overrides: Partial<ApiKey> = {}) => storeKey(store, app.id, overrides);

    test('a created key is found by id and by hash; unknown ones are null', async () => {
      const key = await createKey({ access: [{ apiId: 'api_x', methods: ['GET'] }], metadata: { team: 'a' } });
      assert.deepEqual(await store.keys.get(key.id), key);
      assert.deepEqual(await store.keys.findByHash(key.hash), key);
      assert.equal(await store.keys.findByHash('no-such-hash'), null);
      assert.equal(await store.keys.get('key_unknown'), null);
    });

    test('getByIds answers the keys that exist among those asked for, each as get answers it', async () => {
      const a = await createKey({ metadata: { n: 1 } });
      const b = await createKey();
      await createKey(); // not asked for
      const found = await store.keys.getByIds([b.id, 'key_unknown', a.id]);
      assert.deepEqual(
        found.sort((x, y) => x.id.localeCompare(y.id)),
        [a, b].sort((x, y) => x.id.localeCompare(y.id)),
      );
      assert.deepEqual(await store.keys.getByIds([]), []);
      assert.deepEqual(await store.keys.getByIds(['key_unknown']), []);
    });

    test('a second key with the same hash throws ConflictError', async () => {
      const key = await createKey();
      await assert.rejects(store.keys.create(makeKey(app.id, { hash: key.hash }), audit('key.created', 'key', 'x')), ConflictError);
    });

    test('update replaces a key and returns false for an unknown id', async () => {
      const key = await createKey();
      const changed = { ...key, name: 'renamed', enabled: false, updatedAt: T0 + 9 };
      assert.equal(await store.keys.update(changed, audit('key.updated', 'key', key.id)), true);
      assert.deepEqual(await store.keys.get(key.id), changed);
      assert.equal(await store.keys.update(makeKey(app.id), audit('key.updated', 'key', 'x')), false);
    });

    test('an update or rotation made from a read older than the stored key is refused and changes nothing', async () => {
      const key = await createKey();
      const disabled = { ...key, enabled: false, updatedAt: key.updatedAt + 1 };
      assert.equal(await store.keys.update(disabled, audit('key.disabled', 'key', key.id), key.updatedAt), true);
      const renamed = { ...key, name: 'renamed', updatedAt: key.updatedAt + 2 };
      assert.equal(await store.keys.update(renamed, audit('key.updated', 'key', key.id), key.updatedAt), false, 'made from the read before the disable');
      const successor = makeKey(app.id, { rotatedFrom: key.id });
      const rotated = { ...key, replacedBy: successor.id, updatedAt: key.updatedAt + 2 };
      assert.equal(await store.keys.rotate(rotated, successor, audit('key.rotated', 'key', key.id), key.updatedAt), false);
      assert.deepEqual(await store.keys.get(key.id), disabled);
      assert.equal(await store.keys.get(successor.id), null);
      assert.equal(
        await store.keys.update({ ...disabled, name: 'renamed', updatedAt: key.updatedAt + 3 }, audit('key.updated', 'key', key.id), disabled.updatedAt),
        true,
      );
    });

    test('list filters by app and environment and pages with a cursor', async () => {
      const other = makeApp(2);
      await store.apps.create(other, audit('app.created', 'app', other.id));
      const live = [await createKey(), await createKey(), await createKey()];
      const test_ = await createKey({ environment: 'test' });
      const elsewhere = makeKey(other.id);
      await store.keys.create(elsewhere, audit('key.created', 'key', elsewhere.id));
      assert.deepEqual(
        await allKeyIds(store, { appId: app.id }),
        [...live, test_].map((k) => k.id),
      );
      assert.deepEqual(
        await allKeyIds(store, { appId: app.id, environment: 'live' }),
        live.map((k) => k.id),
      );
      assert.deepEqual(await allKeyIds(store, { environment: 'test' }), [test_.id]);
      assert.deepEqual(
        await allKeyIds(store, {}),
        [...live, test_, elsewhere].map((k) => k.id),
      );
    });

    test('list by api finds keys with a rule for it, and keys without rules whose policy has one', async () => {
      const policy = makePolicy(1, { access: [{ apiId: 'api_a' }] });
      await store.policies.create(policy, audit('policy.created', 'policy', policy.id));
      const direct = await createKey({ access: [{ apiId: 'api_b' }, { apiId: 'api_a', methods: ['GET'] }] });
      const inherited = await createKey({ policyId: policy.id });
      await createKey({ policyId: policy.id, access: [{ apiId: 'api_b' }] });
      await createKey({ policyId: policy.id, access: [] });
      await createKey();
      assert.deepEqual(await allKeyIds(store, { apiId: 'api_a' }), [direct.id, inherited.id]);
      assert.equal((await allKeyIds(store, { apiId: 'api_b' })).length, 2);
      assert.deepEqual(await allKeyIds(store, { apiId: 'api_none' }), []);
    });

    test('list by status sorts keys as active, disabled, expired or revoked at `now`', async () => {
      const active = await createKey();
      const expiresLater = await createKey({ expiresAt: T0 + 1000 });
      const disabled = await createKey({ enabled: false });
      const expired = await createKey({ expiresAt: T0 });
      const expiredDisabled = await createKey({ enabled: false, expiresAt: T0 - 1 });
      const revoked = await createKey({ revokedAt: T0 - 1, revokedReason: 'leaked' });
      const revokedExpired = await createKey({ revokedAt: T0 - 1, expiresAt: T0 - 1, enabled: false });
      const ids = (keys: ApiKey[]) => keys.map((k) => k.id);
      assert.deepEqual(await allKeyIds(store, { status: 'active' }), ids([active, expiresLater]));
      assert.deepEqual(await allKeyIds(store, { status: 'disabled' }), ids([disabled]));
      assert.deepEqual(await allKeyIds(store, { status: 'expired' }), ids([expired, expiredDisabled]));
      assert.deepEqual(await allKeyIds(store, { status: 'revoked' }), ids([revoked, revokedExpired]));
      assert.deepEqual(await allKeyIds(store, { status: 'expired', now: T0 + 1000 }), ids([expiresLater, expired, expiredDisabled]));
      assert.deepEqual(await allKeyIds(store, { status: 'active', now: T0 + 1000 }), ids([active]));
    });

    test('createWithin creates a key only while its app has fewer keys in use (not revoked, not expired at `now`) than the limit; creates together take turns', async () => {
      await createKey();
      await createKey({ enabled: false });
      await createKey({ expiresAt: T0 + 1000, replacedBy: 'key_successor' });
      await createKey({ expiresAt: T0 });
      await createKey({ revokedAt: T0 - 1, revokedReason: 'leaked' });
      const other = makeApp(2);
      await store.apps.create(other, audit('app.created', 'app', other.id));
      await storeKey(store, other.id);
      const within = (key: ApiKey, limit: number, now = T0) => store.keys.createWithin(key, audit('key.created', 'key', key.id), limit, now);
      const refused = makeKey(app.id);
      assert.equal(await within(refused, 3), false, 'active, disabled and in a grace period: three in use');
      assert.equal(await store.keys.get(refused.id), null);
      assert.equal((await allAudit(store, { targetId: refused.id })).length, 0);
      const made = makeKey(app.id);
      assert.equal(await within(made, 3, T0 + 1000), true, 'the grace is over: two in use');
      assert.deepEqual(await store.keys.get(made.id), made);
      assert.equal((await allAudit(store, { targetId: made.id })).length, 1);
      const together = [makeKey(app.id), makeKey(app.id), makeKey(app.id)];
      const results = await Promise.all(together.map((k) => within(k, 4, T0 + 1000)));
      assert.deepEqual(
        results.filter((r) => r),
        [true],
        'one more fits, whichever comes first',
      );
      assert.equal((await store.keys.getByIds(together.map((k) => k.id))).length, 1);
    });

    test('list by exposure finds keys whose secret was seen in the clear, with or without a status', async () => {
      const exposed = await createKey({ exposedAt: T0 - 5 });
      const exposedRevoked = await createKey({ exposedAt: T0 - 5, revokedAt: T0 - 1, revokedReason: 'exposed' });
      const clean = await createKey();
      await createKey({ exposedAt: null });
      assert.deepEqual(await allKeyIds(store, { exposed: true }), [exposed.id, exposedRevoked.id]);
      assert.deepEqual(await allKeyIds(store, { exposed: true, status: 'active' }), [exposed.id]);
      assert.ok((await allKeyIds(store, { exposed: false })).includes(clean.id));
      assert.ok(!(await allKeyIds(store, { exposed: false })).includes(exposed.id));
    });

    test('list by expiresBefore finds keys still in force that expire after now and by then', async () => {
      const DAY = 86_400_000;
      const soon = await createKey({ expiresAt: T0 + DAY });
      const atTheEdge = await createKey({ expiresAt: T0 + 7 * DAY });
      await createKey({ expiresAt: T0 + 7 * DAY + 1 });
      await createKey();
      await createKey({ expiresAt: T0 });
      await createKey({ expiresAt: T0 + DAY, revokedAt: T0 - 1, revokedReason: 'leaked' });
      const disabled = await createKey({ expiresAt: T0 + 2 * DAY, enabled: false });
      assert.deepEqual(await allKeyIds(store, { expiresBefore: T0 + 7 * DAY }), [soon.id, atTheEdge.id, disabled.id]);
      assert.deepEqual(await allKeyIds(store, { expiresBefore: T0 + 7 * DAY, status: 'active' }), [soon.id, atTheEdge.id]);
      assert.deepEqual(
        await allKeyIds(store, { expiresBefore: T0 + 7 * DAY, now: T0 + DAY }),
        [atTheEdge.id, disabled.id],
        'at expiry a key is expired, no longer expiring',
      );
      assert.deepEqual(await allKeyIds(store, { expiresBefore: T0 - 1 }), []);
    });

    test('list by policy finds every key that names it, whatever its status', async () => {
      const gold = makePolicy(1);
      const silver = makePolicy(2);
      for (const p of [gold, silver]) await store.policies.create(p, audit('policy.created', 'policy', p.id));
      const active = await createKey({ policyId: gold.id });
      const revoked = await createKey({ policyId: gold.id, revokedAt: T0 - 1, revokedReason: 'done' });
      await createKey({ policyId: silver.id });
      await createKey();
      assert.deepEqual(await allKeyIds(store, { policyId: gold.id }), [active.id, revoked.id]);
      assert.deepEqual(await allKeyIds(store, { policyId: makePolicy(3).id }), []);
    });

    test('rotate stores the successor and the updated predecessor with one audit entry', async () => {
      const previous = await createKey();
      const successor = makeKey(app.id, { rotatedFrom: previous.id });
      const updated = { ...previous, replacedBy: successor.id, expiresAt: T0 + 60_000, updatedAt: T0 + 1 };
      assert.equal(await store.keys.rotate(updated, successor, audit('key.rotated', 'key', previous.id)), true);
      assert.deepEqual(await store.keys.get(previous.id), updated);
      assert.deepEqual(await store.keys.findByHash(previous.hash), updated);
      assert.deepEqual(await store.keys.findByHash(successor.hash), successor);
      assert.equal((await allAudit(store, { action: 'key.rotated' })).length, 1);
    });

    test('rotate is atomic: a failing successor leaves the predecessor unchanged', async () => {
      const previous = await createKey();
      const taken = await createKey();
      const successor = makeKey(app.id, { hash: taken.hash });
      const updated = { ...previous, replacedBy: successor.id, updatedAt: T0 + 1 };
      await assert.rejects(store.keys.rotate(updated, successor, audit('key.rotated', 'key', previous.id)), ConflictError);
      assert.deepEqual(await store.keys.get(previous.id), previous);
      assert.equal(await store.keys.get(successor.id), null);
      assert.equal((await allAudit(store, { action: 'key.rotated' })).length, 0);
    });

    test("rotate writes several audit entries (the rotation's, the successor's own) with the keys, or none when refused", async () => {
      const previous = await createKey();
      const successor = makeKey(app.id, { rotatedFrom: previous.id });
      const updated = { ...previous, replacedBy: successor.id, updatedAt: T0 + 1 };
      const entries = [audit('key.rotated', 'key', previous.id), audit('key.created', 'key', successor.id)];
      assert.equal(await store.keys.rotate(updated, successor, entries, previous.updatedAt), true);
      assert.deepEqual(
        (await allAudit(store, { targetId: successor.id })).map((e) => e.action),
        ['key.created'],
      );
      assert.equal((await allAudit(store, { targetId: previous.id, action: 'key.rotated' })).length, 1);
      // Rotated already: refused, and neither entry is written.
      const again = makeKey(app.id, { rotatedFrom: previous.id });
      const refused = [audit('key.rotated', 'key', previous.id), audit('key.created', 'key', again.id)];
      assert.equal(await store.keys.rotate({ ...updated, replacedBy: again.id, updatedAt: T0 + 2 }, again, refused, updated.updatedAt), false);
      assert.deepEqual(await allAudit(store, { targetId: again.id }), []);
      assert.equal((await allAudit(store, { targetId: previous.id, action: 'key.rotated' })).length, 1);
    });

    test('rotate returns false and stores nothing for an unknown predecessor', async () => {
      const ghost = makeKey(app.id);
      const successor = makeKey(app.id);
      assert.equal(await store.keys.rotate(ghost, successor, audit('key.rotated', 'key', ghost.id)), false);
      assert.equal(await store.keys.get(successor.id), null);
    });

    test('rotate supersedes the successor of a rotated key that no longer works, only while it is the stored successor and does not work', async () => {
      const at = T0 + 1000;
      for (const dead of ['revoked', 'expired', 'deleted', 'working', 'other'] as const) {
        const stored = await createKey({
          ...(dead === 'revoked' ? { revokedAt: T0 + 10, revokedReason: 'x' } : {}),
          ...(dead === 'expired' ? { expiresAt: at } : {}),
        });
        if (dead === 'deleted') assert.equal(await store.keys.delete(stored.id, audit('key.deleted', 'key', stored.id)), true);
        const previous = await createKey({ replacedBy: stored.id, expiresAt: at + 3_600_000 });
        const successor = makeKey(app.id, { rotatedFrom: previous.id, lineageId: previous.id, createdAt: at, updatedAt: at });
        const updated = { ...previous, replacedBy: successor.id, updatedAt: at };
        const supersedes = dead === 'other' ? 'key_not_the_stored_successor' : stored.id;
        const done = await store.keys.rotate(updated, successor, audit('key.rotated', 'key', previous.id), previous.updatedAt, supersedes);
        if (dead === 'working' || dead === 'other') {
          assert.equal(done, false, `${dead}: a working or another successor is never replaced`);
          assert.deepEqual(await store.keys.get(previous.id), previous);
          assert.equal(await store.keys.get(successor.id), null);
        } else {
          assert.equal(done, true, dead);
          assert.deepEqual(await store.keys.get(previous.id), updated);
          assert.deepEqual(await store.keys.get(successor.id), successor);
        }
      }
      assert.equal((await allAudit(store, { action: 'key.rotated' })).length, 3);
      // Without `supersedes`, a stored successor still refuses a rotation, dead or not; a revoked key is never rotated.
      const gone = await createKey({ revokedAt: T0, revokedReason: 'x' });
      const previous = await createKey({ replacedBy: gone.id, expiresAt: at + 3_600_000 });
      const successor = makeKey(app.id, { rotatedFrom: previous.id, createdAt: at });
      assert.equal(await store.keys.rotate({ ...previous, replacedBy: successor.id }, successor, audit('key.rotated', 'key', previous.id)), false);
      assert.deepEqual(await store.keys.get(previous.id), previous);
      const revoked = await createKey({ replacedBy: gone.id, revokedAt: T0 + 5, revokedReason: 'x' });
      const next = makeKey(app.id, { rotatedFrom: revoked.id, createdAt: at });
      assert.equal(await store.keys.rotate({ ...revoked, replacedBy: next.id }, next, audit('key.rotated', 'key', revoked.id), undefined, gone.id), false);
      assert.deepEqual(await store.keys.get(revoked.id), revoked);
      assert.equal(await store.keys.get(next.id), null);
    });

    test('revokeWhileWorking revokes a key only while the named key works (not revoked, not expired, enabled) and the key is as read', async () => {
      const at = T0 + 1000;
      const cases = ['working', 'revoked', 'expired', 'disabled', 'deleted', 'changed', 'revoked-already'] as const;
      for (const successorIs of cases) {
        const working = await createKey({
          ...(successorIs === 'revoked' ? { revokedAt: at, revokedReason: 'x' } : {}),
          ...(successorIs === 'expired' ? { expiresAt: at } : {}),
          ...(successorIs === 'disabled' ? { enabled: false } : {}),
        });
        if (successorIs === 'deleted') assert.equal(await store.keys.delete(working.id, audit('key.deleted', 'key', working.id)), true);
        const stored = await createKey({
          replacedBy: working.id,
          expiresAt: at + 3_600_000,
          ...(successorIs === 'revoked-already' ? { revokedAt: T0 + 5, revokedReason: 'x' } : {}),
        });
        if (successorIs === 'changed') {
          assert.equal(await store.keys.update({ ...stored, name: 'renamed', updatedAt: stored.updatedAt + 1 }, audit('key.updated', 'key', stored.id)), true);
        }
        const before = await store.keys.get(stored.id);
        const revoked = { ...stored, revokedAt: at, revokedReason: 'drained', updatedAt: at };
        const done = await store.keys.revokeWhileWorking(revoked, working.id, audit('key.revoked', 'key', stored.id), stored.updatedAt);
        assert.equal(done, successorIs === 'working', successorIs);
        assert.deepEqual(await store.keys.get(stored.id), successorIs === 'working' ? revoked : before, successorIs);
      }
      assert.equal((await allAudit(store, { action: 'key.revoked' })).length, 1, 'audited with the revoke only');
    });

    test('inGrace finds the key of a lineage, other than the one named, inside a rotation grace at now: the one whose grace ends last', async () => {
      const now = T0 + 1000;
      const root = await createKey({ replacedBy: 'key_next', expiresAt: now + 60_000 });
      const lineageId = root.id;
      const later = await createKey({ lineageId, rotatedFrom: root.id, replacedBy: 'key_after', expiresAt: now + 120_000 });
      await createKey({ lineageId, replacedBy: 'key_x', expiresAt: now + 999_000, revokedAt: T0 + 5, revokedReason: 'x' }); // revoked
      await createKey({ lineageId, replacedBy: 'key_y', expiresAt: now }); // rotated: its grace is over
      await createKey({ lineageId, expiresAt: now + 999_000 }); // no successor: not in a rotation's grace
      await createKey({ replacedBy: 'key_z', expiresAt: now + 999_000 }); // another lineage
      const current = await createKey({ lineageId, rotatedFrom: later.id });
      assert.deepEqual(await store.keys.inGrace(lineageId, now, current.id), later);
      assert.deepEqual(await store.keys.inGrace(lineageId, now, later.id), root, 'the key named is never answered');
      assert.equal(await store.keys.inGrace(lineageId, now + 120_000, current.id), null, 'every grace over');
      assert.equal(await store.keys.inGrace('key_no_such_lineage', now, current.id), null);
    });

    test('delete removes the key and its usage, and later usage for it is dropped', async () => {
      const key = await createKey();
      await store.usage.record({
        keys: [{ keyId: key.id, day: '2026-11-29', requests: 3, lastUsedAt: T0 }],
        quotas: [{ lineageId: key.id, period: '2026-11', delta: 3 }],
      });
      assert.equal(await store.keys.delete(key.id, audit('key.deleted', 'key', key.id)), true);
      assert.equal(await store.keys.get(key.id), null);
      assert.equal(await store.keys.findByHash(key.hash), null);
      assert.deepEqual(await store.usage.requestsByDay(key.id), []);
      assert.equal(await store.usage.quotaUsed(key.id, '2026-11'), 0);
      await store.usage.record({
        keys: [{ keyId: key.id, day: '2026-11-29', requests: 1, lastUsedAt: T0 }],
        quotas: [{ lineageId: key.id, period: '2026-11', delta: 1 }],
      });
      assert.deepEqual(await store.usage.requestsByDay(key.id), []);
      assert.equal(await store.usage.quotaUsed(key.id, '2026-11'), 0);
      assert.equal(await store.keys.delete(key.id, audit('key.deleted', 'key', key.id)), false);
    });

    test('delete and deleteAppWithRetiredKeys make their audit entries from the key and the app as they delete them', async () => {
      const read = await createKey({ name: 'as read' });
      const since = { ...read, name: 'renamed since', enabled: false, updatedAt: read.updatedAt + 1 };
      assert.equal(await store.keys.update(since, audit('key.updated', 'key', read.id), read.updatedAt), true);
      const stored = await store.keys.get(read.id);
      const seen: unknown[] = [];
      assert.equal(await store.keys.delete(read.id, (was) => (seen.push(was), { ...audit('key.deleted', 'key', was.id), before: { name: was.name } })), true);
      assert.deepEqual(seen, [stored]);
      assert.deepEqual((await allAudit(store, { action: 'key.deleted' }))[0]!.before, { name: 'renamed since' });
      const renamed = { ...app, name: 'app renamed since' };
      const seenApps: App[] = [];
      assert.equal(await store.apps.update(renamed, audit('app.updated', 'app', app.id)), true);
      const done = await store.keys.deleteAppWithRetiredKeys(
        app.id,
        T0,
        (key) => audit('key.deleted', 'key', key.id),
        (was) => (seenApps.push(was), { ...audit('app.deleted', 'app', was.id), before: { name: was.name } }),
      );
      assert.deepEqual(done, { deleted: true, keyIds: [] });
      assert.deepEqual(seenApps, [renamed]);
      assert.deepEqual((await allAudit(store, { action: 'app.deleted' }))[0]!.before, { name: 'app renamed since' });
    });

    test('deleteAppWithRetiredKeys deletes an app with its revoked and expired keys, audited; a key in use, or no app, changes nothing', async () => {
      const now = T0 + 10_000;
      const revoked = await createKey({ revokedAt: T0 + 1, revokedReason: 'done' });
      const expired = await createKey({ expiresAt: now });
      await store.usage.record({ keys: [{ keyId: revoked.id, day: '2026-11-29', requests: 3, lastUsedAt: T0 }], quotas: [] });
      const keyAudit = (key: ApiKey) => audit('key.deleted', 'key', key.id);
      for (const inUse of [
        { expiresAt: now + 1 },
        { enabled: false },
        { replacedBy: 'key_next', expiresAt: now + 60_000 },
        { revokedAt: now + 1, revokedReason: 'later' },
      ]) {
        const key = await createKey(inUse);
        assert.deepEqual(await store.keys.deleteAppWithRetiredKeys(app.id, now, keyAudit, audit('app.deleted', 'app', app.id)), {
          deleted: false,
          why: 'keys-in-use',
        });
        assert.deepEqual(await store.apps.get(app.id), app, JSON.stringify(inUse));
        assert.equal((await store.keys.get(revoked.id))?.revokedAt, revoked.revokedAt, 'the retired keys are kept too');
        assert.equal(await store.keys.delete(key.id, audit('key.deleted', 'key', key.id)), true);
      }
      assert.equal((await allAudit(store, { action: 'app.deleted' })).length, 0);
      const done = await store.keys.deleteAppWithRetiredKeys(app.id, now, keyAudit, audit('app.deleted', 'app', app.id));
      assert.deepEqual(done, { deleted: true, keyIds: [revoked.id, expired.id].sort() });
      assert.equal(await store.apps.get(app.id), null);
      assert.deepEqual(await store.keys.getByIds([revoked.id, expired.id]), []);
      assert.deepEqual(await store.usage.requestsByDay(revoked.id), []);
      assert.deepEqual(
        (await allAudit(store, { targetId: revoked.id })).map((e) => e.action),
        ['key.deleted', 'key.created'],
        'the audit trail is kept',
      );
      assert.deepEqual(
        (await allAudit(store, { targetId: expired.id })).map((e) => e.action),
        ['key.deleted', 'key.created'],
        'the audit trail is kept',
      );
      assert.deepEqual((await allAudit(store, { targetId: app.id })).map((e) => e.action).sort(), ['app.created', 'app.deleted']);
      assert.deepEqual(await store.keys.deleteAppWithRetiredKeys(app.id, now, keyAudit, audit('app.deleted', 'app', app.id)), {
        deleted: false,
        why: 'missing',
      });
    });

    test('a key deleted while a flush naming it is under way keeps no usage, whichever of the two ends first', async () => {
      for (let round = 0; round < 20; round++) {
        const [gone, kept] = [await createKey(), await createKey()];
        const use = (k: ApiKey) => ({ keyId: k.id, day: '2026-11-29', requests: 1, lastUsedAt: T0 + round });
        const [, deleted] = await Promise.all([
          store.usage.record({
            keys: [use(kept), use(gone)],
            quotas: [kept, gone].map((k) => ({ lineageId: k.id, period: '2026-11', delta: 1 })),
            addresses: [kept, gone].map((k) => ({ keyId: k.id, address: '192.0.2.1', firstSeen: T0, lastSeen: T0, requests: 1 })),
          }),
          store.keys.delete(gone.id, audit('key.deleted', 'key', gone.id)),
        ]);
        assert.equal(deleted, true);
        assert.deepEqual(await store.usage.requestsByDay(gone.id), [], `round ${round}`);
        assert.equal(await store.usage.quotaUsed(gone.id, '2026-11'), 0, `round ${round}`);
        assert.deepEqual((await store.keyAddresses.list(gone.id, { limit: 10 })).items, [], `round ${round}`);
        assert.deepEqual(await store.usage.requestsByDay(kept.id), [{ day: '2026-11-29', requests: 1 }]);
      }
    });

    test('quota use belongs to a key lineage: kept while any key of it remains, dropped with the last', async () => {
      const first = await createKey();
      const successor = await createKey({ rotatedFrom: first.id, lineageId: first.id });
      await store.usage.record({ keys: [], quotas: [{ lineageId: first.id, period: '2026-11', delta: 3 }] });
      assert.equal(await store.keys.delete(first.id, audit('key.deleted', 'key', first.id)), true);
      assert.equal(await store.usage.quotaUsed(first.id, '2026-11'), 3, 'the successor still spends it');
      await store.usage.record({ keys: [], quotas: [{ lineageId: first.id, period: '2026-11', delta: 1 }] });
      assert.equal(await store.usage.quotaUsed(first.id, '2026-11'), 4);
      assert.equal(await store.keys.delete(successor.id, audit('key.deleted', 'key', successor.id)), true);
      assert.equal(await store.usage.quotaUsed(first.id, '2026-11'), 0);
      await store.usage.record({ keys: [], quotas: [{ lineageId: first.id, period: '2026-11', delta: 1 }] });
      assert.equal(await store.usage.quotaUsed(first.id, '2026-11'), 0);
    });
  });
}
