import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { App } from '../../domain/entities.ts';
import type { ExchangedToken, Store } from '../port.ts';
import { T0, allAudit, audit, makeApp, makeKey, storeKey } from './fixtures.ts';

const token = (jti: string, keyId: string, issuedAt: number, expiresAt: number): ExchangedToken => ({
  jti,
  keyId,
  clientId: 'cli_1',
  audience: 'https://orders.example',
  scope: 'orders:read',
  issuedAt,
  expiresAt,
  revokedAt: null,
});

/** Tokens exchanged for API keys, and a compromised key revoked with them and replaced, in one transaction. */
export function exchangedTokensContract(current: () => Store): void {
  describe('exchanged tokens and key compromise', () => {
    let store: Store;
    let app: App;
    beforeEach(async () => {
      store = current();
      app = makeApp(1);
      await store.apps.create(app, audit('app.created', 'app', app.id));
    });

    /** Every token of the key, following cursors with a small page. */
    const allTokens = async (keyId: string) => {
      const found: ExchangedToken[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.exchangedTokens.listByKey(keyId, { limit: 2, cursor });
        found.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return found;
    };

    test('a recorded token is listed by its key, newest first, in pages, with its exchange audited', async () => {
      const key = await storeKey(store, app.id);
      const other = await storeKey(store, app.id);
      for (const [jti, at] of [
        ['j1', T0],
        ['j2', T0 + 10],
        ['j3', T0 + 10],
        ['j4', T0 + 20],
      ] as const)
        await store.exchangedTokens.record(token(jti, key.id, at, at + 900_000), audit('key.exchanged', 'key', key.id, { jti }));
      await store.exchangedTokens.record(token('elsewhere', other.id, T0, T0 + 1), audit('key.exchanged', 'key', other.id));
      assert.deepEqual(
        (await allTokens(key.id)).map((t) => t.jti),
        ['j4', 'j3', 'j2', 'j1'],
      );
      assert.deepEqual((await allTokens(key.id))[3], token('j1', key.id, T0, T0 + 900_000));
      assert.deepEqual(
        (await allAudit(store, { targetId: key.id, action: 'key.exchanged' })).map((e) => (e.after as { jti: string }).jti),
        ['j4', 'j3', 'j2', 'j1'],
      );
    });

    test('deleteExpiredBefore removes tokens expired before a time, at most limit', async () => {
      const key = await storeKey(store, app.id);
      for (const [jti, exp] of [
        ['a', T0 + 1],
        ['b', T0 + 2],
        ['c', T0 + 50],
      ] as const)
        await store.exchangedTokens.record(token(jti, key.id, T0, exp), audit('key.exchanged', 'key', key.id));
      assert.equal(await store.exchangedTokens.deleteExpiredBefore(T0 + 10, 1), 1);
      assert.equal(await store.exchangedTokens.deleteExpiredBefore(T0 + 10, 10), 1);
      assert.deepEqual(
        (await allTokens(key.id)).map((t) => t.jti),
        ['c'],
      );
    });

    test('compromise revokes the key and its live tokens, stores the replacement and the audit entries, in one step', async () => {
      const key = await storeKey(store, app.id);
      const at = T0 + 1000;
      await store.exchangedTokens.record(token('live-1', key.id, T0, at + 60_000), audit('key.exchanged', 'key', key.id));
      await store.exchangedTokens.record(token('live-2', key.id, T0 + 1, at + 120_000), audit('key.exchanged', 'key', key.id));
      await store.exchangedTokens.record(token('expired', key.id, T0, at), audit('key.exchanged', 'key', key.id));
      const replacement = makeKey(app.id, { rotatedFrom: key.id, lineageId: key.id, createdAt: at, updatedAt: at });
      const revoked = { ...key, revokedAt: at, revokedReason: 'leaked', replacedBy: replacement.id, updatedAt: at };
      let seen: readonly string[] = [];
      const result = await store.keys.compromise({ revoked, replacement }, (tokens) => {
        seen = tokens;
        return [{ ...audit('key.compromised', 'key', key.id, { tokens }), events: [{ type: 'key.compromised', data: { tokens: tokens.length } }] }];
      });
      assert.deepEqual(result, { revokedTokens: ['live-1', 'live-2'] });
      assert.deepEqual(seen, ['live-1', 'live-2']);
      assert.deepEqual(await store.keys.get(key.id), revoked);
      assert.deepEqual(await store.keys.get(replacement.id), replacement);
      assert.deepEqual(
        (await store.revocations.since(0, at)).map((r) => [r.kind, r.id, r.revokedAt, r.expiresAt]),
        [
          ['token', 'live-1', at, at + 60_000],
          ['token', 'live-2', at, at + 120_000],
        ],
      );
      assert.deepEqual(
        (await allTokens(key.id)).map((t) => [t.jti, t.revokedAt]),
        [
          ['live-2', at],
          ['live-1', at],
          ['expired', null],
        ],
      );
      assert.deepEqual((await allAudit(store, { action: 'key.compromised' }))[0]!.after, { tokens: ['live-1', 'live-2'] });
      assert.deepEqual(
        (await store.events.after(0, 10)).map((e) => [e.type, e.data]),
        [['key.compromised', { tokens: 2 }]],
      );
    });

    test('a compromise made from a read older than the stored key (readAt) is refused and changes nothing', async () => {
      const key = await storeKey(store, app.id);
      const disabled = { ...key, enabled: false, updatedAt: key.updatedAt + 1 };
      assert.equal(await store.keys.update(disabled, audit('key.disabled', 'key', key.id), key.updatedAt), true);
      for (const withReplacement of [true, false]) {
        const replacement = withReplacement ? makeKey(app.id, { rotatedFrom: key.id, lineageId: key.id }) : null;
        const revoked = { ...key, revokedAt: T0 + 5, revokedReason: 'leaked', replacedBy: replacement?.id ?? null, updatedAt: key.updatedAt + 2 };
        assert.equal(await store.keys.compromise({ revoked, replacement }, () => [audit('key.compromised', 'key', key.id)], key.updatedAt), null);
        if (replacement) assert.equal(await store.keys.get(replacement.id), null);
      }
      assert.deepEqual(await store.keys.get(key.id), disabled);
      const revoked = { ...disabled, revokedAt: T0 + 5, revokedReason: 'leaked', updatedAt: key.updatedAt + 2 };
      assert.deepEqual(await store.keys.compromise({ revoked, replacement: null }, () => [audit('key.compromised', 'key', key.id)], disabled.updatedAt), {
        revokedTokens: [],
      });
    });

    test('a rotated key whose successor no longer works: the replacement supersedes it, only while it is the stored successor and does not work', async () => {
      const at = T0 + 1000;
      for (const dead of ['revoked', 'expired', 'deleted', 'working', 'other'] as const) {
        const successor = await storeKey(store, app.id, {
          ...(dead === 'revoked' ? { revokedAt: T0 + 10, revokedReason: 'x' } : {}),
          ...(dead === 'expired' ? { expiresAt: at } : {}),
        });
        if (dead === 'deleted') assert.equal(await store.keys.delete(successor.id, audit('key.deleted', 'key', successor.id)), true);
        const key = await storeKey(store, app.id, { replacedBy: successor.id, expiresAt: at + 3_600_000 });
        const replacement = makeKey(app.id, { rotatedFrom: key.id, lineageId: key.id, createdAt: at, updatedAt: at });
        const revoked = { ...key, revokedAt: at, revokedReason: 'leaked', replacedBy: replacement.id, updatedAt: at };
        const supersedes = dead === 'other' ? 'key_not_the_stored_successor' : successor.id;
        const done = await store.keys.compromise({ revoked, replacement, supersedes }, () => [audit('key.compromised', 'key', key.id)], key.updatedAt);
        if (dead === 'working' || dead === 'other') {
          assert.equal(done, null, `${dead}: a working or another successor is never replaced`);
          assert.deepEqual(await store.keys.get(key.id), key);
          assert.equal(await store.keys.get(replacement.id), null);
        } else {
          assert.deepEqual(done, { revokedTokens: [] }, dead);
          assert.deepEqual(await store.keys.get(key.id), revoked);
          assert.deepEqual(await store.keys.get(replacement.id), replacement);
        }
      }
      // Without `supersedes`, a stored successor still refuses a replacement, dead or not.
      const gone = await storeKey(store, app.id, { revokedAt: T0, revokedReason: 'x' });
      const key = await storeKey(store, app.id, { replacedBy: gone.id, expiresAt: at + 3_600_000 });
      const replacement = makeKey(app.id, { rotatedFrom: key.id, lineageId: key.id });
      const revoked = { ...key, revokedAt: at, revokedReason: 'leaked', replacedBy: replacement.id, updatedAt: at };
      assert.equal(await store.keys.compromise({ revoked, replacement }, () => [audit('key.compromised', 'key', key.id)]), null);
      assert.deepEqual(await store.keys.get(key.id), key);
    });

    test('compromise without a replacement; an unknown key changes nothing and is null', async () => {
      const key = await storeKey(store, app.id);
      const revoked = { ...key, revokedAt: T0 + 5, revokedReason: 'leaked', updatedAt: T0 + 5 };
      assert.deepEqual(await store.keys.compromise({ revoked, replacement: null }, () => [audit('key.compromised', 'key', key.id)]), { revokedTokens: [] });
      assert.deepEqual(await store.keys.get(key.id), revoked);
      const ghost = makeKey(app.id, { revokedAt: T0 });
      const replacement = makeKey(app.id);
      assert.equal(await store.keys.compromise({ revoked: ghost, replacement }, () => [audit('key.compromised', 'key', ghost.id)]), null);
      assert.equal(await store.keys.get(replacement.id), null, 'no replacement for a key that does not exist');
      assert.equal((await allAudit(store, { targetId: ghost.id })).length, 0);
    });
  });
}
