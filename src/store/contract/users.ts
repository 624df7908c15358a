import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { User } from '../../domain/entities.ts';
import { ConflictError, type Store } from '../port.ts';
import { T0, audit, allAudit, makeUser } from './fixtures.ts';
import { entityContract } from './entity.ts';

/** Users: the entity operations, lookup by username, and the write that only lands over the version read. */
export function usersContract(current: () => Store): void {
  describe('users', () => {
    entityContract(
      'user',
      current,
      (s) => s.users,
      makeUser,
      (u) => ({ ...u, roles: ['admin'], updatedAt: T0 + 5 }),
    );

    test('findByUsername ignores case; a second user with the same name throws ConflictError', async () => {
      const store = current();
      const user = makeUser(1);
      await store.users.create(user, audit('user.created', 'user', user.id));
      assert.deepEqual(await store.users.findByUsername('USER1@Example.com'), user);
      assert.equal(await store.users.findByUsername('user2@example.com'), null);
      assert.equal(await store.users.findByUsername('user1@example.com\u0000'), null, 'a name no store can hold is nobody');
      const twin = { ...makeUser(2), username: 'User1@example.com' };
      await assert.rejects(store.users.create(twin, audit('user.created', 'user', twin.id)), ConflictError);
      assert.equal((await store.users.list({ limit: 10 })).items.length, 1);
    });

    test('usernames fold ASCII case only, on every store: names that differ outside ASCII are two names', async () => {
      // The domain stores usernames as ASCII e-mail addresses, lower-cased (inputs/identity.ts); below
      // it, SQLite's NOCASE folds ASCII only, so PostgreSQL must not fold more (lower() folds by locale).
      const store = current();
      const kate = { ...makeUser(1), username: 'kate@example.com' };
      const lower = { ...makeUser(2), username: '\u00e9mile@example.com' };
      const upper = { ...makeUser(3), username: '\u00c9mile@example.com' };
      for (const u of [kate, lower, upper]) await store.users.create(u, audit('user.created', 'user', u.id));
      assert.equal((await store.users.list({ limit: 10 })).items.length, 3);
      assert.equal(await store.users.findByUsername('\u212aate@example.com'), null, 'the Kelvin sign is not a K');
      assert.deepEqual(await store.users.findByUsername('KATE@EXAMPLE.COM'), kate);
      assert.deepEqual(await store.users.findByUsername('\u00c9MILE@EXAMPLE.COM'), upper);
    });

    test('list by pendingApproval finds the accounts waiting for approval, and pages with a cursor', async () => {
      const store = current();
      const users = [
        makeUser(1),
        { ...makeUser(2), pendingApproval: true },
        { ...makeUser(3), pendingApproval: false },
        { ...makeUser(4), pendingApproval: true },
      ];
      for (const u of users) await store.users.create(u, audit('user.created', 'user', u.id));
      const ids = async (pendingApproval?: boolean) => {
        const first = await store.users.list({ limit: 1, pendingApproval });
        const rest = first.nextCursor ? await store.users.list({ limit: 10, cursor: first.nextCursor, pendingApproval }) : { items: [] };
        return [...first.items, ...rest.items].map((u) => u.id);
      };
      assert.deepEqual(await ids(true), [users[1]!.id, users[3]!.id]);
      assert.deepEqual(await ids(false), [users[0]!.id, users[2]!.id]);
      assert.equal((await ids()).length, 4);
    });

    test('users.createConsuming creates the user and consumes the record together, or neither', async () => {
      const store = current();
      const ttl = T0 + 60_000;
      const invite = (id: string) => store.oidc.upsert('PortalInvite', id, { sealed: 'x' }, ttl);
      const consumed = async (id: string) => (await store.oidc.find('PortalInvite', id, T0))?.consumed !== undefined;
      const taken = makeUser(1);
      await store.users.create(taken, audit('user.created', 'user', taken.id));

      // The name is taken: nothing is written, and the record can still be used.
      await invite('inv-1');
      const twin = { ...makeUser(2), username: taken.username };
      await assert.rejects(
        store.users.createConsuming(twin, audit('user.created', 'user', twin.id), { model: 'PortalInvite', id: 'inv-1', at: T0 }),
        ConflictError,
      );
      assert.equal(await consumed('inv-1'), false);

      const user = makeUser(3);
      assert.equal(await store.users.createConsuming(user, audit('user.created', 'user', user.id), { model: 'PortalInvite', id: 'inv-1', at: T0 }), true);
      assert.deepEqual(await store.users.get(user.id), user);
      assert.equal(await consumed('inv-1'), true);

      // Consumed already, expired, or never there: no user.
      const late = [makeUser(4), makeUser(5), makeUser(6)];
      await invite('inv-2');
      const attempts: [User, string, number][] = [
        [late[0]!, 'inv-1', T0],
        [late[1]!, 'inv-2', ttl],
        [late[2]!, 'inv-none', T0],
      ];
      for (const [u, id, at] of attempts) {
        assert.equal(await store.users.createConsuming(u, audit('user.created', 'user', u.id), { model: 'PortalInvite', id, at }), false, id);
        assert.equal(await store.users.get(u.id), null, id);
      }
      assert.equal((await allAudit(store, { action: 'user.created' })).length, 2);
    });

    test('users.updateIfUnchanged writes only over the version it read, once', async () => {
      const store = current();
      const user = makeUser(7);
      await store.users.create(user, audit('user.created', 'user', user.id));
      const first = { ...user, roles: ['a'], updatedAt: T0 + 10 };
      const second = { ...user, roles: ['b'], updatedAt: T0 + 11 };
      assert.equal(await store.users.updateIfUnchanged(first, user.updatedAt, audit('user.totp_used', 'user', user.id)), true);
      assert.equal(await store.users.updateIfUnchanged(second, user.updatedAt, audit('user.totp_used', 'user', user.id)), false);
      assert.deepEqual((await store.users.get(user.id))?.roles, ['a']);
      assert.equal((await allAudit(store, { action: 'user.totp_used' })).length, 1);
    });
  });
}
