import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { ApiKey, App } from '../../domain/entities.ts';
import type { EventInput } from '../../domain/events.ts';
import { DAY_MS, effectiveRotation, isRotationDue, rotationSchedule } from '../../domain/rotation.ts';
import type { Store } from '../port.ts';
import { T0, allKeyIds, audit, makeApp, makePolicy, storeKey } from './fixtures.ts';

const dueEvent = (keyId: string, dueAt: number): EventInput => ({ type: 'key.rotation_due', data: { keyId }, dedupeKey: `key.rotation_due:${keyId}:${dueAt}` });

/** Rotation hygiene: the rotation_due list filter, the bounded scan with its notices, and keys retiring when drained. */
export function keyRotationContract(current: () => Store): void {
  describe('key rotation', () => {
    let store: Store;
    let app: App;
    beforeEach(async () => {
      store = current();
      app = makeApp(1);
      await store.apps.create(app, audit('app.created', 'app', app.id));
    });
    const createKey = (overrides: Partial<ApiKey> = {}) => storeKey(store, app.id, overrides);

    test('the rotationDue filter agrees with domain/rotation.ts at every moment: own rule over the policy’s, only keys in use as themselves', async () => {
      const monthly = makePolicy(1, { rotation: { periodDays: 30 } });
      const none = makePolicy(2);
      for (const p of [monthly, none]) await store.policies.create(p, audit('policy.created', 'policy', p.id));
      const keys = [
        await createKey({ policyId: monthly.id }),
        await createKey({ policyId: monthly.id, rotation: { periodDays: 10 } }),
        await createKey({ policyId: none.id, rotation: { periodDays: 20, noticeDays: 1 } }),
        await createKey({ policyId: none.id }),
        await createKey(),
        await createKey({ policyId: monthly.id, enabled: false }),
        await createKey({ policyId: monthly.id, revokedAt: T0 + DAY_MS, revokedReason: 'x' }),
        await createKey({ policyId: monthly.id, expiresAt: T0 + 25 * DAY_MS }),
        await createKey({ policyId: monthly.id, replacedBy: 'key_next', expiresAt: T0 + 90 * DAY_MS }),
        await createKey({ rotation: { periodDays: 5 }, createdAt: T0 + 3 * DAY_MS }),
      ];
      const policies = new Map([monthly, none].map((p) => [p.id, p]));
      for (const days of [0, 5, 8, 10, 20, 29, 30, 31, 100]) {
        const now = T0 + days * DAY_MS;
        const expected = keys.filter((k) => isRotationDue(rotationSchedule(k, effectiveRotation(k, policies.get(k.policyId ?? '') ?? null), now), now));
        assert.deepEqual(
          await allKeyIds(store, { rotationDue: true, now }),
          expected.map((k) => k.id),
          `due at day ${days}`,
        );
        const rest = keys.filter((k) => !expected.includes(k)).map((k) => k.id);
        assert.deepEqual(await allKeyIds(store, { rotationDue: false, now }), rest, `not due at day ${days}`);
      }
      // A policy's new rule applies to its keys at once: nothing is copied onto them.
      await store.policies.update({ ...monthly, rotation: { periodDays: 400 } }, audit('policy.updated', 'policy', monthly.id));
      assert.deepEqual(await allKeyIds(store, { rotationDue: true, now: T0 + 31 * DAY_MS }), [keys[1]!.id, keys[2]!.id, keys[9]!.id]);
      assert.deepEqual(await allKeyIds(store, { rotationDue: true, status: 'disabled', now: T0 + 401 * DAY_MS }), [keys[5]!.id]);
    });

    test('the scan reads a bounded part by id, returns keys with a rule (and their effective rule), and says where to resume', async () => {
      const policy = makePolicy(1, { rotation: { periodDays: 30, expireAfterGraceDays: 3 } });
      await store.policies.create(policy, audit('policy.created', 'policy', policy.id));
      const a = await createKey({ policyId: policy.id });
      await createKey();
      const c = await createKey({ rotation: { periodDays: 7 }, policyId: policy.id });
      await createKey({ policyId: policy.id, revokedAt: T0, revokedReason: 'x' });
      const e = await createKey({ policyId: policy.id });

      const first = await store.keyRotation.scan('', 2);
      assert.deepEqual(
        first.items.map((i) => [i.key.id, i.rule, i.notice]),
        [[a.id, { periodDays: 30, expireAfterGraceDays: 3 }, null]],
      );
      assert.ok(first.nextCursor);
      const second = await store.keyRotation.scan(first.nextCursor, 2);
      assert.deepEqual(
        second.items.map((i) => [i.key.id, i.rule]),
        [[c.id, { periodDays: 7 }]],
      );
      assert.deepEqual(second.items[0]!.key, c);
      const third = await store.keyRotation.scan(second.nextCursor!, 2);
      assert.deepEqual(
        third.items.map((i) => i.key.id),
        [e.id],
      );
      assert.equal(third.nextCursor, null);
    });

    test('the scan gives a key whose own rule is null (as the admin API stores it) its policy’s rule', async () => {
      const policy = makePolicy(1, { rotation: { periodDays: 30 } });
      await store.policies.create(policy, audit('policy.created', 'policy', policy.id));
      const key = await createKey({ policyId: policy.id, rotation: null });
      const { items } = await store.keyRotation.scan('', 10);
      assert.deepEqual(
        items.map((i) => [i.key.id, i.rule]),
        [[key.id, { periodDays: 30 }]],
      );
    });

    test('a notice is recorded with its event once per due date; a new due date records again; deleting the key deletes its notice', async () => {
      const key = await createKey({ rotation: { periodDays: 30 } });
      const due = T0 + 30 * DAY_MS;
      assert.equal(await store.keyRotation.recordNotice(key.id, { dueAt: due, at: T0 + 23 * DAY_MS }, dueEvent(key.id, due)), true);
      assert.equal(await store.keyRotation.recordNotice(key.id, { dueAt: due, at: T0 + 24 * DAY_MS }, dueEvent(key.id, due)), false);
      assert.deepEqual((await store.keyRotation.scan('', 10)).items[0]!.notice, { dueAt: due, at: T0 + 24 * DAY_MS });
      assert.equal(await store.keyRotation.recordNotice(key.id, { dueAt: due + DAY_MS, at: T0 + 25 * DAY_MS }, dueEvent(key.id, due + DAY_MS)), true);
      const events = (await store.events.after(0, 10)).filter((ev) => ev.type === 'key.rotation_due');
      assert.equal(events.length, 2);
      assert.equal(await store.keyRotation.recordNotice('key_gone', { dueAt: due, at: T0 }, dueEvent('key_gone', due)), false);
      assert.equal((await store.events.after(0, 10)).filter((ev) => ev.type === 'key.rotation_due').length, 2);

      await store.keys.delete(key.id, audit('key.deleted', 'key', key.id));
      const again = await createKey({ id: key.id, hash: 'another-hash', rotation: { periodDays: 30 } });
      assert.equal((await store.keyRotation.scan('', 10)).items.find((i) => i.key.id === again.id)!.notice, null);
    });

    test('draining lists rotated keys retiring when drained, inside their grace and not revoked, by grace end, in pages', async () => {
      const retire = (at: number) => ({ retireWhenDrained: { quietPeriodSeconds: 600, rotatedAt: at }, replacedBy: 'key_next' });
      const later = await createKey({ ...retire(T0), expiresAt: T0 + 3 * DAY_MS });
      const sooner = await createKey({ ...retire(T0), expiresAt: T0 + DAY_MS });
      const sameEnd = await createKey({ ...retire(T0), expiresAt: T0 + DAY_MS });
      await createKey({ ...retire(T0), expiresAt: T0 - 1 });
      await createKey({ ...retire(T0), expiresAt: T0 + DAY_MS, revokedAt: T0, revokedReason: 'drained' });
      await createKey({ replacedBy: 'key_next', expiresAt: T0 + DAY_MS });
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.keyRotation.draining(T0, { limit: 2, cursor });
        ids.push(...page.items.map((k) => k.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      assert.deepEqual(ids, [...[sooner.id, sameEnd.id].sort(), later.id]);
      assert.deepEqual((await store.keyRotation.draining(T0 + 2 * DAY_MS, { limit: 10 })).items, [later]);
      // Once retired it is left out.
      await store.keys.update({ ...later, revokedAt: T0 + 2 * DAY_MS, revokedReason: 'drained' }, audit('key.revoked', 'key', later.id));
      assert.deepEqual((await store.keyRotation.draining(T0 + 2 * DAY_MS, { limit: 10 })).items, []);
    });
  });
}
