import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StorageUnavailableError, type OidcModelRepo } from '../src/store/port.ts';
import * as oauth from 'oauth4webapi';
import { authorizationUrl, Browser, claimsOf, codeFlow, insecure, REDIRECT, signIn, startAuthHarness, type AuthHarness, refreshWith } from './support/oauth.ts';

/**
 * A refresh consumes its token, then stores the successor (a code exchange: the code, then the refresh token). When the store fails between the two, the
 * client is answered 503 "nothing was changed: retry later", and nothing was issued; but the token was
 * burned, so the retry it was told to make was a reuse that revoked the grant (RFC 9700 §4.14.2), and
 * the user was signed out by our outage.
 */
describe('a refresh whose successor the store failed to keep', () => {
  let h: AuthHarness;
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };
  let failNextRefreshToken = false;
  before(async () => {
    h = await startAuthHarness();
    const orders = await h.api('orders', ['orders:read']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    user = await h.user();
    // The store fails once, on the successor's write: after the consume, before anything is issued.
    const oidc: OidcModelRepo = h.gh.ctx.store.oidc;
    const upsert = oidc.upsert.bind(oidc);
    oidc.upsert = async (model, id, payload, expiresAt) => {
      if (model === 'RefreshToken' && failNextRefreshToken) {
        failNextRefreshToken = false;
        throw new StorageUnavailableError('the store is away', { cause: new Error('connection reset') });
      }
      return upsert(model, id, payload, expiresAt);
    };
  });
  after(() => h?.close());

  const refresh = (token: string) => refreshWith(h, web, token);

  test('is answered as the outage it is, and the retry is refreshed: the token is not burned, the grant stands', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read' });
    const grantId = claimsOf(tokens.access_token).gid as string;
    failNextRefreshToken = true;
    const failed = await refresh(tokens.refresh_token!);
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    assert.equal(failed.body.error, 'temporarily_unavailable');
    const retried = await refresh(tokens.refresh_token!);
    assert.equal(retried.status, 200, `the retry: ${JSON.stringify(retried.body)}`);
    assert.deepEqual(
      (await h.audit('grant.revoked')).filter((e: { targetId: string }) => e.targetId === grantId),
      [],
      'the grant is not revoked',
    );
    assert.equal((await refresh(retried.body.refresh_token)).status, 200, 'the chain goes on');
    // Still one chain: the token the retry rotated is used now, and presenting it again is a reuse.
    assert.equal((await refresh(tokens.refresh_token!)).status, 400);
  });

  test('an authorization code exchanged when the store fails to keep its refresh token can be exchanged again', async () => {
    const { url, state, verifier } = await authorizationUrl(h, web.id, { scope: 'openid orders:read' });
    const params = oauth.validateAuthResponse(h.as, web.client, await signIn(new Browser(h.issuer), url, user.username), state);
    const exchange = () => oauth.authorizationCodeGrantRequest(h.as, web.client, web.auth, params, REDIRECT, verifier, insecure);
    failNextRefreshToken = true;
    const failed = await exchange();
    assert.equal(failed.status, 503, await failed.text());
    const tokens = await oauth.processAuthorizationCodeResponse(h.as, web.client, await exchange());
    assert.ok(tokens.refresh_token);
    assert.equal((await refresh(tokens.refresh_token)).status, 200);
  });
});
