import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConsoleSession, Store } from '../port.ts';
import { allAudit, audit, T0 } from './fixtures.ts';

const session = (n: number, overrides: Partial<ConsoleSession> = {}): ConsoleSession => ({
  idHash: `hash-${n}`,
  userId: 'usr_a',
  sealedTokens: `sealed-${n}`,
  accessExpiresAt: T0 + 900_000,
  createdAt: T0 + n,
  lastSeenAt: T0 + n,
  expiresAt: T0 + 8 * 3_600_000,
  idleExpiresAt: T0 + 1_800_000,
  ...overrides,
});

/** The web app's sessions: found by the hash of their id until either end, refreshed once, ended with an audit entry. */
export function consoleSessionsContract(current: () => Store): void {
  describe('console sessions', () => {
    test('a session is found until its idle end or its absolute end, whichever comes first', async () => {
      const store = current();
      await store.consoleSessions.create(session(1), { ...audit('user.console_signed_in', 'user', 'usr_a'), actorName: 'a@example.com' });
      assert.deepEqual(await store.consoleSessions.get('hash-1', T0), session(1));
      assert.equal(await store.consoleSessions.get('hash-1', T0 + 1_800_000), null, 'idle end passed');
      assert.equal(await store.consoleSessions.get('hash-2', T0), null);
      // Use moves the idle end, but never past the absolute end.
      assert.equal(await store.consoleSessions.touch('hash-1', T0 + 1_000_000, T0 + 9 * 3_600_000), true);
      const touched = await store.consoleSessions.get('hash-1', T0 + 1_900_000);
      assert.equal(touched?.lastSeenAt, T0 + 1_000_000);
      assert.equal(touched?.idleExpiresAt, T0 + 8 * 3_600_000);
      assert.equal(await store.consoleSessions.get('hash-1', T0 + 8 * 3_600_000), null, 'absolute end passed');
      assert.equal(await store.consoleSessions.touch('hash-9', T0, T0 + 1), false);
      const [entry] = await allAudit(store, { action: 'user.console_signed_in' });
      assert.equal(entry?.actorName, 'a@example.com');
    });

    test('tokens are replaced only from the tokens they were refreshed from', async () => {
      const store = current();
      await store.consoleSessions.create(session(1), audit('user.console_signed_in', 'user', 'usr_a'));
      assert.equal(await store.consoleSessions.replaceTokens('hash-1', 'sealed-1', 'sealed-1b', T0 + 2_000_000), true);
      assert.equal(await store.consoleSessions.replaceTokens('hash-1', 'sealed-1', 'sealed-1c', T0 + 3_000_000), false, 'a second refresh from the old tokens');
      const found = await store.consoleSessions.get('hash-1', T0);
      assert.equal(found?.sealedTokens, 'sealed-1b');
      assert.equal(found?.accessExpiresAt, T0 + 2_000_000);
    });

    test('a refresh is claimed by one node at a time, until the claim lapses, the tokens are replaced or it is released', async () => {
      const store = current();
      await store.consoleSessions.create(session(1), audit('user.console_signed_in', 'user', 'usr_a'));
      assert.equal(await store.consoleSessions.claimRefresh('hash-1', 'sealed-1', T0, T0 + 30_000), true);
      assert.equal(await store.consoleSessions.claimRefresh('hash-1', 'sealed-1', T0 + 1, T0 + 30_001), false, 'another node, while the claim stands');
      assert.equal(await store.consoleSessions.claimRefresh('hash-1', 'sealed-1', T0 + 30_000, T0 + 60_000), true, 'the claim lapsed (its node died)');
      assert.equal(await store.consoleSessions.replaceTokens('hash-1', 'sealed-1', 'sealed-1b', T0 + 2_000_000), true);
      assert.equal(await store.consoleSessions.claimRefresh('hash-1', 'sealed-1', T0 + 30_001, T0 + 60_001), false, 'the tokens it was claimed for are gone');
      assert.equal(await store.consoleSessions.claimRefresh('hash-1', 'sealed-1b', T0 + 30_001, T0 + 60_001), true, 'replacing the tokens ended the claim');
      await store.consoleSessions.releaseRefresh('hash-1', T0 + 60_000);
      assert.equal(await store.consoleSessions.claimRefresh('hash-1', 'sealed-1b', T0 + 30_002, T0 + 60_002), false, 'only the claim named is released');
      await store.consoleSessions.releaseRefresh('hash-1', T0 + 60_001);
      assert.equal(await store.consoleSessions.claimRefresh('hash-1', 'sealed-1b', T0 + 30_002, T0 + 60_002), true, 'released: claimable at once');
      assert.equal(await store.consoleSessions.claimRefresh('hash-9', 'sealed-9', T0, T0 + 30_000), false, 'no such session');
      assert.deepEqual(
        await store.consoleSessions.get('hash-1', T0),
        { ...session(1), sealedTokens: 'sealed-1b', accessExpiresAt: T0 + 2_000_000 },
        'the claim is the store’s alone',
      );
    });

    test('delete ends one session with its audit entry; deleteForUser ends a user’s; deleteExpired the ended ones', async () => {
      const store = current();
      await store.consoleSessions.create(session(1), audit('user.console_signed_in', 'user', 'usr_a'));
      await store.consoleSessions.create(session(2), audit('user.console_signed_in', 'user', 'usr_a'));
      await store.consoleSessions.create(session(3, { userId: 'usr_b' }), audit('user.console_signed_in', 'user', 'usr_b'));
      await store.consoleSessions.create(session(4, { userId: 'usr_b', idleExpiresAt: T0 + 10 }), audit('user.console_signed_in', 'user', 'usr_b'));
      assert.deepEqual(
        (await store.consoleSessions.listForUser('usr_a', T0)).map((s) => s.idHash),
        ['hash-2', 'hash-1'],
      );
      assert.equal(await store.consoleSessions.delete('hash-1', audit('user.console_signed_out', 'user', 'usr_a')), true);
      assert.equal(await store.consoleSessions.delete('hash-1', audit('user.console_signed_out', 'user', 'usr_a')), false);
      assert.equal((await allAudit(store, { action: 'user.console_signed_out' })).length, 1, 'no entry for a session that was not there');
      assert.equal(await store.consoleSessions.deleteForUser('usr_a'), 1);
      assert.deepEqual(await store.consoleSessions.listForUser('usr_a', T0), []);
      assert.equal(await store.consoleSessions.deleteExpired(T0 + 100), 1);
      assert.equal((await store.consoleSessions.get('hash-3', T0 + 100))?.userId, 'usr_b');
    });
  });
}
