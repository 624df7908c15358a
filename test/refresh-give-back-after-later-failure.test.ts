import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { StorageUnavailableError, type OidcModelRepo } from '../src/store/port.ts';
import { authorizationUrl, Browser, claimsOf, codeFlow, insecure, REDIRECT, signIn, startAuthHarness, type AuthHarness, refreshWith } from './support/oauth.ts';

/**
 * A token request consumes its code or refresh token, stores the new refresh token, then builds the
 * access token (its claims read the user from the store) and signs it. Only a failure to store the
 * refresh token gave back what was consumed: a failure after it (the user read, a claims step, signing)
 * answered 503 "nothing was changed: retry later" or 500, with the token burned, so the retry the client
 * was told to make was a reuse that revoked the grant (RFC 9700 §4.14.2), signing the user out. Every
 * failure answer (5xx) after the consume now gives it back, and withdraws the refresh token stored for it.
 */
describe('a token request that fails after its refresh token was stored', () => {
  let h: AuthHarness;
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };
  /** The failure of the first user read after the next consume of a model, once. */
  let failAfterConsume: { model: string; error: Error } | null = null;
  let failUserRead: Error | null = null;
  before(async () => {
    h = await startAuthHarness();
    const orders = await h.api('orders', ['orders:read']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    user = await h.user();
    const store = h.gh.ctx.store;
    const oidc: OidcModelRepo = store.oidc;
    const consume = oidc.consume.bind(oidc);
    oidc.consume = async (model, id, at, by) => {
      const consumed = await consume(model, id, at, by);
      if (consumed && model === failAfterConsume?.model) [failUserRead, failAfterConsume] = [failAfterConsume.error, null];
      return consumed;
    };
    // A refresh reads the user (findAccount) before its consume, and again for the access token's claims
    // (extraTokenClaims) after the consume and the successor's write; a code exchange reads it after its consume.
    const get = store.users.get.bind(store.users);
    store.users.get = async (id) => {
      if (failUserRead) {
        const error = failUserRead;
        failUserRead = null;
        throw error;
      }
      return get(id);
    };
  });
  after(() => h?.close());

  const refresh = (token: string) => refreshWith(h, web, token);
  const revokedGrants = async (grantId: string) => (await h.audit('grant.revoked')).filter((e: { targetId: string }) => e.targetId === grantId);

  const failures = [
    {
      name: 'a store outage',
      error: () => new StorageUnavailableError('the store is away', { cause: new Error('connection reset') }),
      status: 503,
      code: 'temporarily_unavailable',
    },
    { name: 'an unexpected failure', error: () => new Error('claims could not be built'), status: 500, code: 'server_error' },
  ];
  for (const f of failures) {
    test(`a refresh that fails on ${f.name} while building the access token is answered ${f.status}, and its retry is refreshed: the grant stands, one chain`, async () => {
      const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read' });
      const grantId = claimsOf(tokens.access_token).gid as string;
      failAfterConsume = { model: 'RefreshToken', error: f.error() };
      const failed = await refresh(tokens.refresh_token!);
      assert.equal(failed.status, f.status, JSON.stringify(failed.body));
      assert.equal(failed.body.error, f.code);
      assert.equal(failUserRead, null, 'the failure was injected after the consume');
      const retried = await refresh(tokens.refresh_token!);
      assert.equal(retried.status, 200, `the retry: ${JSON.stringify(retried.body)}`);
      assert.deepEqual(await revokedGrants(grantId), [], 'the grant is not revoked');
      // Nothing of the failed request is left: the retry's successor is the chain's only live token.
      const live = (await h.gh.ctx.identity!.oidcRecords.listByGrant('RefreshToken', grantId, Date.now())).filter((r) => r.payload.consumed === undefined);
      assert.equal(live.length, 1, 'one live refresh token');
      assert.equal((await refresh(retried.body.refresh_token)).status, 200, 'the chain goes on');
      // A successful answer is never given back: the token the retry rotated stays used, and presenting it again is a reuse.
      assert.equal((await refresh(tokens.refresh_token!)).status, 400);
    });
  }

  test('an authorization code exchange that fails after the code was consumed (the user read) can be exchanged again', async () => {
    const { url, state, verifier } = await authorizationUrl(h, web.id, { scope: 'openid orders:read' });
    const params = oauth.validateAuthResponse(h.as, web.client, await signIn(new Browser(h.issuer), url, user.username), state);
    const exchange = () => oauth.authorizationCodeGrantRequest(h.as, web.client, web.auth, params, REDIRECT, verifier, insecure);
    failAfterConsume = { model: 'AuthorizationCode', error: failures[0]!.error() };
    const failed = await exchange();
    assert.equal(failed.status, 503, await failed.text());
    assert.equal(failUserRead, null, 'the failure was injected after the consume');
    const tokens = await oauth.processAuthorizationCodeResponse(h.as, web.client, await exchange());
    assert.ok(tokens.refresh_token);
    const grantId = claimsOf(tokens.access_token).gid as string;
    assert.equal(
      (await h.gh.ctx.identity!.oidcRecords.listByGrant('RefreshToken', grantId, Date.now())).length,
      1,
      'the failed exchange left no refresh token',
    );
    assert.equal((await refresh(tokens.refresh_token)).status, 200);
  });
});
