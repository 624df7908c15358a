import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { failGrantRevocationsWhile } from './support/failing-store.ts';
import { Browser, claimsOf, codeFlow, REDIRECT, startAuthHarness, type AuthHarness, refreshWith } from './support/oauth.ts';
import { waitFor } from './support/wait.ts';

/**
 * oidc-provider answers the reuse of a rotated refresh token (RFC 9700 §4.14.2) by deleting that token
 * and revoking its grant, in parallel. With the store failing the grant's revocation, the token's delete
 * went through alone: its next presentation was "not found", never a reuse again, and the grant lived
 * on, with the successor a thief may hold. Now the token goes only with the whole revocation: while the
 * store fails, nothing is deleted, and the next presentation revokes the grant.
 */
describe('a refresh token reuse whose grant revocation fails in the store', () => {
  let h: AuthHarness;
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };
  let storeFails = false;
  before(async () => {
    h = await startAuthHarness();
    const orders = await h.api('orders', ['orders:read']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    user = await h.user();
    // Every store call that revokes a grant fails as a store going away does; deleting a single token does not.
    failGrantRevocationsWhile(h.gh.ctx.store, () => storeFails);
  });
  after(() => h?.close());

  const refresh = (token: string) => refreshWith(h, web, token);

  test('a refresh token reuse whose grant revocation fails keeps the used token, and its next presentation revokes the grant', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read' });
    const grantId = claimsOf(tokens.access_token).gid as string;
    const rotated = await refresh(tokens.refresh_token!);
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));

    storeFails = true;
    let reused;
    try {
      reused = await refresh(tokens.refresh_token!);
    } finally {
      storeFails = false;
    }
    assert.equal(reused.status, 503, JSON.stringify(reused.body));
    assert.equal(reused.body.error, 'temporarily_unavailable');

    // The store is back: the reused token is presented again (the client's retry, or the thief's).
    const again = await refresh(tokens.refresh_token!);
    assert.equal(again.status, 400, JSON.stringify(again.body));
    assert.equal(again.body.error, 'invalid_grant');
    const successor = await refresh(rotated.body.refresh_token);
    assert.equal(successor.status, 400, `the successor dies with the grant: ${JSON.stringify(successor.body)}`);
    assert.equal(successor.body.error, 'invalid_grant');
    const listed = (await h.gh.ctx.store.revocations.since(0, Date.now())).filter((r) => r.kind === 'grant' && r.id === grantId);
    assert.equal(listed.length, 1, 'the grant is listed revoked, so its JWT access tokens are refused');
    assert.deepEqual(await h.gh.ctx.identity!.oidcRecords.listByGrant('RefreshToken', grantId, Date.now()), []);
  });

  test('a refresh token reuse whose grant revocation fails is retried in the background and reported until it holds, with no one presenting the token again', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read' });
    const grantId = claimsOf(tokens.access_token).gid as string;
    const rotated = await refresh(tokens.refresh_token!);
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const pending = async () => (JSON.parse(await (await fetch(`${h.gh.controlUrl}/readyz`)).text()) as any).components['grant-revocations-pending'];

    storeFails = true;
    try {
      assert.equal((await refresh(tokens.refresh_token!)).status, 503);
      await h.gh.authorization!.retryRevocations();
      const reported = await pending();
      assert.equal(reported.ok, false, 'reported while the store still fails it');
      assert.match(reported.lastError, /1 grant revocation\(s\) the store failed are pending/);
    } finally {
      storeFails = false;
    }
    await h.gh.authorization!.retryRevocations();
    assert.equal((await pending()).ok, true);

    // Only the thief's successor is presented: refused, the grant is gone.
    const successor = await refresh(rotated.body.refresh_token);
    assert.equal(successor.status, 400, JSON.stringify(successor.body));
    assert.equal(successor.body.error, 'invalid_grant');
    assert.equal((await h.gh.ctx.store.revocations.since(0, Date.now())).filter((r) => r.id === grantId).length, 1, 'listed revoked');
    // Audited beside the revocation, not before its answer: waited for, not read at once.
    await waitFor(async () => (await h.audit('grant.revoked')).some((e: { targetId: string }) => e.targetId === grantId), {
      what: 'the grant.revoked audit entry',
    });
  });
});
