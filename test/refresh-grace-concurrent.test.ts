import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Browser, claimsOf, codeFlow, REDIRECT, startAuthHarness, type AuthHarness, refreshWith, clientPost } from './support/oauth.ts';
import { startPostgres, type PrivatePostgres } from './support/postgres.ts';

/**
 * With the reuse grace window on, a second use of a refresh token inside the window is a retry, not
 * theft. Two uses at the same moment (a client retrying while its first request is still being
 * answered, two tabs refreshing at once) are the same two uses: one rotates the token, the other
 * gets the grace answer, and the user stays signed in. They used to revoke the grant, when the
 * second found the token consumed before the first had stored its successor. On PostgreSQL, where
 * each store call is real I/O and the two requests interleave (on SQLite in one process, the first
 * request's consume and save run without yielding to the second).
 */
describe('concurrent refreshes of one refresh token inside the grace window', () => {
  let pg: PrivatePostgres;
  let h: AuthHarness;
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };
  before(async () => {
    pg = await startPostgres();
    await pg.createDatabase('grace');
    h = await startAuthHarness({
      GATEHOUSE_AUTHORIZATION_REFRESH_TOKEN_REUSE_GRACE_SECONDS: '30',
      GATEHOUSE_STORE_DRIVER: 'postgres',
      GATEHOUSE_STORE_URL: pg.urlWithoutPassword('grace'),
      GATEHOUSE_STORE_PASSWORD: pg.password,
    });
    const orders = await h.api('orders', ['orders:read']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    user = await h.user();
  });
  after(async () => {
    await h?.close();
    await pg?.stop();
  });

  const post = (url: string, form: Record<string, string>) => clientPost(web, url, form);
  const refresh = (token: string) => refreshWith(h, web, token);

  test('both are answered, the grant stands, and the chain goes on from the one live successor', async () => {
    for (let round = 0; round < 10; round++) {
      const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read' });
      const grantId = claimsOf(tokens.access_token).gid as string;
      const both = await Promise.all([refresh(tokens.refresh_token!), refresh(tokens.refresh_token!)]);
      for (const res of both) assert.equal(res.status, 200, `round ${round}: ${JSON.stringify(res.body)}`);
      const revoked = (await h.audit('grant.revoked')).filter((e: { targetId: string }) => e.targetId === grantId);
      assert.deepEqual(revoked, [], 'the grant is not revoked');
      // One chain: the successor the grace answer spent is no longer active, the other is.
      const active = [];
      for (const res of both) {
        const seen = await post(h.as.introspection_endpoint!, { token: res.body.refresh_token, token_type_hint: 'refresh_token' });
        if (seen.body.active === true) active.push(res.body.refresh_token as string);
      }
      assert.equal(active.length, 1, 'exactly one successor is live');
      assert.equal((await refresh(active[0]!)).status, 200, 'the chain goes on');
    }
  });

  // Each retry after the first spends the one live successor and leaves its own: the late ones of three
  // or more used to find the successor spent by another retry (or race it for it) and revoke the grant.
  for (const n of [3, 4]) {
    test(`${n} at once are all answered, the grant stands, and one successor is live; a use after the chain moved on is still a reuse`, async () => {
      for (let round = 0; round < 5; round++) {
        const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read' });
        const grantId = claimsOf(tokens.access_token).gid as string;
        const all = await Promise.all(Array.from({ length: n }, () => refresh(tokens.refresh_token!)));
        for (const res of all) assert.equal(res.status, 200, `round ${round}: ${JSON.stringify(res.body)}`);
        assert.deepEqual(
          (await h.audit('grant.revoked')).filter((e: { targetId: string }) => e.targetId === grantId),
          [],
          'the grant is not revoked',
        );
        const active = [];
        for (const res of all) {
          const seen = await post(h.as.introspection_endpoint!, { token: res.body.refresh_token, token_type_hint: 'refresh_token' });
          if (seen.body.active === true) active.push(res.body.refresh_token as string);
        }
        assert.equal(active.length, 1, `round ${round}: exactly one successor is live`);
        const next = await refresh(active[0]!);
        assert.equal(next.status, 200, 'the chain goes on');
        // The live successor was used by its holder: the first token, inside its window, is now a reuse (RFC 9700 §4.14.2).
        assert.equal((await refresh(tokens.refresh_token!)).status, 400, 'a use after the chain moved on is refused');
        const after = await post(h.as.introspection_endpoint!, { token: next.body.refresh_token, token_type_hint: 'refresh_token' });
        assert.equal(after.body.active, false, 'and revokes the grant, with the chain’s live token');
      }
    });
  }
});
