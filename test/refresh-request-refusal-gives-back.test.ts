import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import * as oauth from 'oauth4webapi';
import {
  authorizationUrl,
  Browser,
  claimsOf,
  clientPost,
  codeFlow,
  insecure,
  REDIRECT,
  refreshWith,
  signIn,
  startAuthHarness,
  type AuthHarness,
} from './support/oauth.ts';

/**
 * oidc-provider consumes a refresh token (or a code) once the token itself has passed every check, and
 * only then resolves the `resource` the request names (RFC 8707) and, for a code, checks the DPoP proof
 * against the `dpop_jkt` it was bound to (RFC 9449 §10). A refusal there is about the request, not the
 * token, yet the token stayed used: the client's corrected retry was then a reuse that revoked the grant
 * (RFC 9700 §4.14.2), and a typo in a parameter signed the user out. What such a refusal consumed is now
 * given back; a refusal about the token itself (used, expired, revoked) never is.
 */
describe('a token request refused for what it asks, after its token was consumed', () => {
  let h: AuthHarness;
  let orders: { id: string; audience: string };
  let billing: { id: string; audience: string };
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };
  before(async () => {
    h = await startAuthHarness();
    orders = await h.api('orders', ['orders:read']);
    billing = await h.api('billing', ['billing:read']);
    web = await h.client({
      name: 'Web',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['orders:read', 'billing:read'],
      apiIds: [orders.id, billing.id],
      firstParty: true,
    });
    user = await h.user();
  });
  after(() => h?.close());

  const revokedGrants = async (grantId: string) => (await h.audit('grant.revoked')).filter((e: { targetId: string }) => e.targetId === grantId);
  const refreshing = (token: string, extra: Record<string, string>) =>
    clientPost(web, h.as.token_endpoint!, { grant_type: 'refresh_token', refresh_token: token, ...extra });

  /** After the refusal, the same refresh token sent as it should have been is refreshed, and the grant stands. */
  async function retryStands(token: string, grantId: string, retry: Record<string, string>) {
    const retried = await refreshing(token, retry);
    assert.equal(retried.status, 200, `the corrected retry: ${JSON.stringify(retried.body)}`);
    assert.deepEqual(await revokedGrants(grantId), [], 'the grant is not revoked');
    assert.equal((await refreshing(retried.body.refresh_token, retry)).status, 200, 'the chain goes on');
    // What the retry rotated stays used (its answer was sent): presenting it again is a reuse.
    assert.equal((await refreshing(token, retry)).body.error, 'invalid_grant');
  }

  test('a refresh naming a resource its grant does not hold (invalid_target) leaves the refresh token usable', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    const grantId = claimsOf(tokens.access_token).gid as string;
    const refused = await refreshing(tokens.refresh_token!, { resource: billing.audience });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'invalid_target');
    // Whoever holds a stolen refresh token may probe this way without spending it: the give-back is audited.
    const givenBack = (await h.audit('grant.token_given_back')).filter((e: { targetId: string }) => e.targetId === grantId);
    assert.deepEqual(
      givenBack.map((e: { after: unknown }) => e.after),
      [{ token: 'refresh_token', clientId: web.id, error: 'invalid_target' }],
    );
    await retryStands(tokens.refresh_token!, grantId, { resource: orders.audience });
  });

  test('a refresh of a grant for two APIs naming neither (invalid_target) leaves the refresh token usable', async () => {
    const tokens = await codeFlow(
      h,
      new Browser(h.issuer),
      web,
      user.username,
      { scope: 'openid orders:read billing:read', resource: [orders.audience, billing.audience] },
      { resource: orders.audience },
    );
    const grantId = claimsOf(tokens.access_token).gid as string;
    const refused = await refreshing(tokens.refresh_token!, {});
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'invalid_target');
    await retryStands(tokens.refresh_token!, grantId, { resource: billing.audience });
  });

  // Refused before the consume already (oidc-provider checks the scope first): kept that way.
  test('a refresh asking for a scope its grant does not hold (invalid_scope) leaves the refresh token usable', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    const grantId = claimsOf(tokens.access_token).gid as string;
    const refused = await refreshing(tokens.refresh_token!, { scope: 'openid orders:read billing:read' });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'invalid_scope');
    await retryStands(tokens.refresh_token!, grantId, { scope: 'orders:read' });
  });

  // Refused before the consume already (oidc-provider validates a proof before it finds the token): kept that way.
  test('a refresh with a malformed DPoP proof (invalid_dpop_proof) leaves the refresh token usable', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    const grantId = claimsOf(tokens.access_token).gid as string;
    const res = await fetch(h.as.token_endpoint!, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${web.id}:${web.secret}`).toString('base64')}`,
        dpop: 'not-a-proof',
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }).toString(),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_dpop_proof');
    await retryStands(tokens.refresh_token!, grantId, {});
  });

  test('a code exchange naming a resource the client may not use (invalid_target) leaves the code to exchange again', async () => {
    const payroll = await h.api('payroll', ['payroll:read']);
    const { url, state, verifier } = await authorizationUrl(h, web.id, { scope: 'openid orders:read', resource: orders.audience });
    const params = oauth.validateAuthResponse(h.as, web.client, await signIn(new Browser(h.issuer), url, user.username), state);
    const exchange = (resource: string) =>
      oauth.authorizationCodeGrantRequest(h.as, web.client, web.auth, params, REDIRECT, verifier, { additionalParameters: { resource }, ...insecure });
    const refused = await exchange(payroll.audience);
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_target');
    const tokens = await oauth.processAuthorizationCodeResponse(h.as, web.client, await exchange(orders.audience));
    const grantId = claimsOf(tokens.access_token).gid as string;
    assert.deepEqual(await revokedGrants(grantId), [], 'the grant is not revoked');
    assert.equal((await refreshWith(h, web, tokens.refresh_token!)).status, 200);
  });

  test('a code bound to a DPoP key (dpop_jkt), exchanged without a proof, can be exchanged again with one', async () => {
    const keyPair = await oauth.generateKeyPair('ES256');
    const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
    const { url, state, verifier } = await authorizationUrl(h, web.id, { scope: 'openid orders:read', resource: orders.audience, dpop_jkt: jkt });
    const params = oauth.validateAuthResponse(h.as, web.client, await signIn(new Browser(h.issuer), url, user.username), state);
    const refused = await oauth.authorizationCodeGrantRequest(h.as, web.client, web.auth, params, REDIRECT, verifier, insecure);
    assert.equal(refused.status, 400, await refused.clone().text());
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_grant');
    const dpop = oauth.DPoP(web.client, keyPair);
    const res = await oauth.authorizationCodeGrantRequest(h.as, web.client, web.auth, params, REDIRECT, verifier, { DPoP: dpop, ...insecure });
    const tokens = await oauth.processAuthorizationCodeResponse(h.as, web.client, res);
    assert.equal(tokens.token_type, 'dpop');
    assert.equal(claimsOf(tokens.access_token).cnf?.jkt, jkt);
    assert.deepEqual(await revokedGrants(claimsOf(tokens.access_token).gid as string), [], 'the grant is not revoked');
  });

  test('a refusal about the refresh token itself still burns it: a reuse revokes the grant', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    const grantId = claimsOf(tokens.access_token).gid as string;
    assert.equal((await refreshWith(h, web, tokens.refresh_token!)).status, 200);
    const reuse = await refreshWith(h, web, tokens.refresh_token!);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, 'invalid_grant');
    assert.equal((await revokedGrants(grantId)).length, 1, 'the grant is revoked');
  });
});
