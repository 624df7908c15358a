import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { authorizationUrl, Browser, claimsOf, insecure, REDIRECT, signIn, startAuthHarness, type AuthHarness, refreshWith } from './support/oauth.ts';

/**
 * Two sign-ins of one user and client in one browser session share a grant, and each starts a refresh
 * chain. Chains were told apart by their initial issued-at, in whole seconds: when both began in the
 * same second, the grace and reuse checks read one chain's rotations as the other's, and a retry inside
 * the grace window in one chain (its answer lost) was judged a reuse because the other chain had moved
 * on: the grant was revoked, both sign-ins with it (RFC 9700 §4.14.2 is about one chain's tokens).
 */
describe('two refresh chains of one grant begun in the same second', () => {
  let h: AuthHarness;
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };
  before(async () => {
    h = await startAuthHarness({ GATEHOUSE_AUTHORIZATION_REFRESH_TOKEN_REUSE_GRACE_SECONDS: '30' });
    const orders = await h.api('orders', ['orders:read']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    user = await h.user();
  });
  after(() => h?.close());

  const refresh = (token: string) => refreshWith(h, web, token);

  /** Two sign-ins in one session whose codes are exchanged at once: two chains of one grant, begun in one second. */
  const twoChains = async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const browser = new Browser(h.issuer);
      const started = [];
      for (let i = 0; i < 2; i++) {
        const { url, state, verifier } = await authorizationUrl(h, web.id, { scope: 'openid orders:read' });
        started.push({ params: oauth.validateAuthResponse(h.as, web.client, await signIn(browser, url, user.username), state), verifier });
      }
      const [a, b] = await Promise.all(
        started.map(async ({ params, verifier }) =>
          oauth.processAuthorizationCodeResponse(
            h.as,
            web.client,
            await oauth.authorizationCodeGrantRequest(h.as, web.client, web.auth, params, REDIRECT, verifier, insecure),
          ),
        ),
      );
      const grantId = claimsOf(a!.access_token).gid as string;
      assert.equal(claimsOf(b!.access_token).gid, grantId, 'one grant: the session’s');
      const chains = await h.gh.ctx.identity!.oidcRecords.listByGrant('RefreshToken', grantId, Date.now());
      assert.equal(chains.length, 2);
      if (chains[0]!.payload.iiat === chains[1]!.payload.iiat) return { a: a!.refresh_token!, b: b!.refresh_token!, grantId };
    }
    throw new Error('could not begin two chains in one second');
  };

  test('a retry inside the grace window in one is continued, however far the other moved on: the grant stands', async () => {
    const { a, b, grantId } = await twoChains();
    // B (another tab or device) refreshes twice, using its successor.
    const b1 = await refresh(b);
    assert.equal(b1.status, 200, JSON.stringify(b1.body));
    const b2 = await refresh(b1.body.refresh_token);
    assert.equal(b2.status, 200, JSON.stringify(b2.body));
    // A refreshes, its answer is lost, and it retries with the same token inside the window.
    assert.equal((await refresh(a)).status, 200);
    const retried = await refresh(a);
    assert.equal(retried.status, 200, `the retry: ${JSON.stringify(retried.body)}`);
    assert.deepEqual(
      (await h.audit('grant.revoked')).filter((e: { targetId: string }) => e.targetId === grantId),
      [],
      'the grant is not revoked',
    );
    assert.equal((await refresh(retried.body.refresh_token)).status, 200, 'A’s chain goes on');
    assert.equal((await refresh(b2.body.refresh_token)).status, 200, 'and so does B’s');
  });
});
