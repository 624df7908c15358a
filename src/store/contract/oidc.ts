import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../port.ts';
import { T0 } from './fixtures.ts';

/** The authorization server's records: opaque payloads by model and id, lookups, consumption, expiry. */
export function oidcContract(current: () => Store): void {
  describe('oidc records', () => {
    const payload = (extra: Record<string, unknown> = {}) => ({ jti: 'x', kind: 'RefreshToken', ...extra });

    test('upsert then find returns the payload until it expires; another model does not see it', async () => {
      const { oidc } = current();
      await oidc.upsert('RefreshToken', 'rt1', payload({ grantId: 'g1' }), T0 + 1000);
      assert.deepEqual(await oidc.find('RefreshToken', 'rt1', T0), payload({ grantId: 'g1' }));
      assert.equal(await oidc.find('RefreshToken', 'rt1', T0 + 1000), null);
      assert.equal(await oidc.find('AccessToken', 'rt1', T0), null);
    });

    test('upsert replaces a record and its lookup fields', async () => {
      const { oidc } = current();
      await oidc.upsert('Interaction', 'i1', payload({ uid: 'u1' }), null);
      await oidc.upsert('Interaction', 'i1', payload({ uid: 'u2', n: 2 }), null);
      assert.equal(await oidc.findByUid('Interaction', 'u1', T0), null);
      assert.deepEqual(await oidc.findByUid('Interaction', 'u2', T0), { id: 'i1', payload: payload({ uid: 'u2', n: 2 }) });
    });

    test('findByUserCode finds a live device code, with the id it is stored under', async () => {
      const { oidc } = current();
      await oidc.upsert('DeviceCode', 'd1', payload({ userCode: 'ABCD-EFGH' }), T0 + 10);
      assert.deepEqual(await oidc.findByUserCode('DeviceCode', 'ABCD-EFGH', T0), { id: 'd1', payload: payload({ userCode: 'ABCD-EFGH' }) });
      assert.equal(await oidc.findByUserCode('DeviceCode', 'ABCD-EFGH', T0 + 10), null);
    });

    test('consume marks a record consumed once, in epoch seconds, and keeps it findable', async () => {
      const { oidc } = current();
      await oidc.upsert('AuthorizationCode', 'c1', payload(), null);
      assert.equal(await oidc.consume('AuthorizationCode', 'c1', T0), true);
      assert.equal(await oidc.consume('AuthorizationCode', 'c1', T0 + 60_000), false, 'a second use is told it came too late');
      assert.equal(await oidc.consume('AuthorizationCode', 'never-stored', T0), false);
      assert.equal((await oidc.find('AuthorizationCode', 'c1', T0))?.consumed, Math.floor(T0 / 1000));
    });

    test('unconsume gives a consume back only while the record is consumed as of that consume', async () => {
      const { oidc } = current();
      await oidc.upsert('RefreshToken', 'r1', payload(), null);
      await oidc.consume('RefreshToken', 'r1', T0);
      assert.equal(await oidc.unconsume('RefreshToken', 'r1', T0 + 1), false, 'not another consume’s');
      assert.equal(await oidc.unconsume('RefreshToken', 'r1', T0), true);
      assert.equal((await oidc.find('RefreshToken', 'r1', T0))?.consumed, undefined);
      assert.equal(await oidc.unconsume('RefreshToken', 'r1', T0), false, 'once');
      assert.equal(await oidc.consume('RefreshToken', 'r1', T0 + 5), true, 'usable again');
    });

    test('unconsume with a consume’s unique value gives back that consume only, never another stamped the same millisecond', async () => {
      const { oidc } = current();
      await oidc.upsert('RefreshToken', 'r1', payload(), null);
      assert.equal(await oidc.consume('RefreshToken', 'r1', T0, 'second-use'), true);
      assert.equal(await oidc.unconsume('RefreshToken', 'r1', T0, 'first-use'), false, 'another consume’s, though stamped alike');
      assert.equal(await oidc.unconsume('RefreshToken', 'r1', T0), false, 'nor by the stamp alone');
      assert.equal(typeof (await oidc.find('RefreshToken', 'r1', T0))?.consumed, 'number');
      assert.equal(await oidc.unconsume('RefreshToken', 'r1', T0, 'second-use'), true);
      assert.equal((await oidc.find('RefreshToken', 'r1', T0))?.consumed, undefined);
      assert.equal(await oidc.unconsume('RefreshToken', 'r1', T0, 'second-use'), false, 'once');
      assert.equal(await oidc.consume('RefreshToken', 'r1', T0), true, 'consumed again, without a value');
      assert.equal(await oidc.unconsume('RefreshToken', 'r1', T0, 'second-use'), false, 'the value went with the consume it was kept for');
      assert.equal(await oidc.unconsume('RefreshToken', 'r1', T0), true);
    });

    test('upsertIfVersion writes only over the version read: of two writers that read one version, one wins', async () => {
      const { oidc } = current();
      assert.equal(await oidc.findVersioned('Grant', 'g1', T0), null);
      assert.equal(await oidc.upsertIfVersion('Grant', 'g1', payload({ accountId: 'usr_1', n: 1 }), T0 + 100, null), true, 'a new record');
      assert.equal(await oidc.upsertIfVersion('Grant', 'g1', payload({ n: 9 }), T0 + 100, null), false, 'not over one that is there');
      const read = await oidc.findVersioned('Grant', 'g1', T0);
      assert.deepEqual(read, { payload: payload({ accountId: 'usr_1', n: 1 }), version: 1 });
      assert.equal(await oidc.upsertIfVersion('Grant', 'g1', payload({ accountId: 'usr_2', n: 2 }), T0 + 200, read!.version), true);
      assert.equal(await oidc.upsertIfVersion('Grant', 'g1', payload({ accountId: 'usr_1', n: 3 }), T0 + 200, read!.version), false, 'the late writer');
      assert.deepEqual(await oidc.findVersioned('Grant', 'g1', T0 + 150), { payload: payload({ accountId: 'usr_2', n: 2 }), version: 2 });
      assert.deepEqual(
        (await oidc.listByAccount('Grant', 'usr_2', T0)).map((r) => r.id),
        ['g1'],
        'index fields written too',
      );
      await oidc.upsert('Grant', 'g1', payload({ n: 4 }), T0 + 200);
      assert.equal((await oidc.findVersioned('Grant', 'g1', T0))?.version, 3, 'upsert counts as a write');
      await oidc.destroy('Grant', 'g1');
      assert.equal(await oidc.upsertIfVersion('Grant', 'g1', payload({ n: 5 }), T0 + 200, 3), false, 'not over a deleted record');
      assert.equal(await oidc.find('Grant', 'g1', T0), null);
    });

    test('revokeByGrantId deletes only that model’s records of that grant', async () => {
      const { oidc } = current();
      await oidc.upsert('RefreshToken', 'a', payload({ grantId: 'g1' }), null);
      await oidc.upsert('RefreshToken', 'b', payload({ grantId: 'g2' }), null);
      await oidc.upsert('AuthorizationCode', 'c', payload({ grantId: 'g1' }), null);
      await oidc.revokeByGrantId('RefreshToken', 'g1');
      assert.equal(await oidc.find('RefreshToken', 'a', T0), null);
      assert.notEqual(await oidc.find('RefreshToken', 'b', T0), null);
      assert.notEqual(await oidc.find('AuthorizationCode', 'c', T0), null);
    });

    test('revokeGrant lists the grant and deletes its records of the models named (and the grant when asked), nothing else', async () => {
      const { oidc, revocations } = current();
      await oidc.upsert('Grant', 'g1', payload({ accountId: 'usr_1' }), null);
      await oidc.upsert('RefreshToken', 'a', payload({ grantId: 'g1' }), null);
      await oidc.upsert('AuthorizationCode', 'c', payload({ grantId: 'g1' }), null);
      await oidc.upsert('Interaction', 'i', payload({ grantId: 'g1' }), null);
      await oidc.upsert('RefreshToken', 'b', payload({ grantId: 'g2' }), null);
      await oidc.revokeGrant({ grantId: 'g1', models: ['RefreshToken', 'AuthorizationCode'], withGrant: false, revokedAt: T0, expiresAt: T0 + 1000 });
      assert.equal(await oidc.find('RefreshToken', 'a', T0), null);
      assert.equal(await oidc.find('AuthorizationCode', 'c', T0), null);
      assert.notEqual(await oidc.find('Interaction', 'i', T0), null, 'a model not named is kept');
      assert.notEqual(await oidc.find('RefreshToken', 'b', T0), null, 'another grant is kept');
      assert.notEqual(await oidc.find('Grant', 'g1', T0), null, 'the grant is kept unless asked');
      assert.deepEqual(await revocations.since(T0, T0), [{ kind: 'grant', id: 'g1', revokedAt: T0, expiresAt: T0 + 1000 }]);
      // Again (idempotent), now with the grant: the listing keeps the later end.
      await oidc.revokeGrant({ grantId: 'g1', models: ['RefreshToken'], withGrant: true, revokedAt: T0 + 10, expiresAt: T0 + 500 });
      assert.equal(await oidc.find('Grant', 'g1', T0), null);
      assert.deepEqual(await revocations.since(T0, T0), [{ kind: 'grant', id: 'g1', revokedAt: T0, expiresAt: T0 + 1000 }]);
    });

    test('destroy deletes one record; listByAccount lists an account’s live records newest first', async () => {
      const { oidc } = current();
      await oidc.upsert('Grant', 'g1', payload({ accountId: 'usr_1' }), T0 + 100);
      await oidc.upsert('Grant', 'g2', payload({ accountId: 'usr_1' }), T0 + 100);
      await oidc.upsert('Grant', 'g3', payload({ accountId: 'usr_2' }), T0 + 100);
      await oidc.upsert('Grant', 'g4', payload({ accountId: 'usr_1' }), T0 + 1);
      assert.deepEqual(
        (await oidc.listByAccount('Grant', 'usr_1', T0 + 50)).map((r) => r.id),
        ['g2', 'g1'],
      );
      await oidc.destroy('Grant', 'g2');
      assert.deepEqual(
        (await oidc.listByAccount('Grant', 'usr_1', T0 + 50)).map((r) => r.id),
        ['g1'],
      );
    });

    test('listByGrant lists a grant’s live records of one model, consumed ones marked, oldest first', async () => {
      const { oidc } = current();
      await oidc.upsert('RefreshToken', 'r1', payload({ grantId: 'g1' }), T0 + 100);
      await oidc.upsert('RefreshToken', 'r2', payload({ grantId: 'g1' }), T0 + 100);
      await oidc.upsert('RefreshToken', 'r3', payload({ grantId: 'g2' }), T0 + 100);
      await oidc.upsert('AccessToken', 'a1', payload({ grantId: 'g1' }), T0 + 100);
      await oidc.upsert('RefreshToken', 'r4', payload({ grantId: 'g1' }), T0 + 1);
      await oidc.consume('RefreshToken', 'r1', T0);
      const listed = await oidc.listByGrant('RefreshToken', 'g1', T0 + 50);
      assert.deepEqual(
        listed.map((r) => [r.id, r.payload.consumed]),
        [
          ['r1', Math.floor(T0 / 1000)],
          ['r2', undefined],
        ],
      );
    });

    // Above the port, ids, uids and user codes are base64url keyed hashes and the payload is a sealed
    // string beside the index fields: the adapter stores and compares them as they are.
    test('records are stored and found by opaque ids: hashes that differ only in case or by one character are different records', async () => {
      const { oidc } = current();
      const id = 'q8Jm0-xZ_3vLr4T2uNcA9bYhK1sWdE5fG7iOpQ6tRyU';
      const twin = id.toLowerCase();
      const sealed = (n: number) => ({
        sealed: `v1.iv${n}.body-${n}_~.tag${n}`,
        grantId: 'grant_1',
        accountId: 'usr_1',
        uid: `${id}-uid`,
        userCode: `${id}-code`,
      });
      await oidc.upsert('RefreshToken', id, sealed(1), null);
      await oidc.upsert('RefreshToken', twin, { ...sealed(2), uid: `${twin}-uid`, userCode: `${twin}-code` }, null);
      await oidc.upsert('RefreshToken', `${id.slice(0, -1)}V`, sealed(3), null);
      assert.deepEqual(await oidc.find('RefreshToken', id, T0), sealed(1));
      assert.deepEqual((await oidc.find('RefreshToken', twin, T0))?.sealed, sealed(2).sealed);
      assert.equal(await oidc.find('RefreshToken', `${id}=`, T0), null);
      assert.equal((await oidc.findByUid('RefreshToken', `${twin}-uid`, T0))?.id, twin);
      assert.equal((await oidc.findByUserCode('RefreshToken', `${twin}-code`, T0))?.id, twin);
      assert.equal(await oidc.findByUid('RefreshToken', `${id.toUpperCase()}-uid`, T0), null);
      assert.deepEqual(
        (await oidc.listByGrant('RefreshToken', 'grant_1', T0)).map((r) => r.id),
        [id, twin, `${id.slice(0, -1)}V`],
      );
    });

    test('a record listed by grant or account can be consumed and destroyed by the id the list gave', async () => {
      const { oidc } = current();
      await oidc.upsert('Session', 'hashed-session-id', { sealed: 'v1.a.b.c', accountId: 'usr_9' }, null);
      const [listed] = await oidc.listByAccount('Session', 'usr_9', T0);
      await oidc.consume('Session', listed!.id, T0);
      assert.equal((await oidc.find('Session', 'hashed-session-id', T0))?.consumed, Math.floor(T0 / 1000));
      await oidc.destroy('Session', listed!.id);
      assert.deepEqual(await oidc.listByAccount('Session', 'usr_9', T0), []);
    });

    test('deleteExpired removes expired records only and counts them', async () => {
      const { oidc } = current();
      await oidc.upsert('Session', 's1', payload(), T0 + 5);
      await oidc.upsert('Session', 's2', payload(), T0 + 50);
      await oidc.upsert('Session', 's3', payload(), null);
      assert.equal(await oidc.deleteExpired(T0 + 10), 1);
      assert.notEqual(await oidc.find('Session', 's2', T0 + 10), null);
      assert.notEqual(await oidc.find('Session', 's3', T0 + 10), null);
    });
  });
}
