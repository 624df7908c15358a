import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { authorizationUrl, Browser, claimsOf, codeFlow, insecure, REDIRECT, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * A first-party client skips consent: its grant covers what it asks for, within what it is allowed
 * (authorization-server.ts, loadExistingGrant). That must hold for the second authorization in a
 * session too, not only for the first: when it asks for more than the first did, and when the
 * session's grant for it was revoked in between.
 */
describe('a first-party client is never asked for consent, whatever its session already holds', () => {
  let h: AuthHarness;
  let orders: { id: string; audience: string };
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };

  before(async () => {
    h = await startAuthHarness();
    orders = await h.api('orders', ['orders:read', 'orders:write']);
    web = await h.client({
      name: 'Console',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['orders:read'],
      apiIds: [orders.id],
      firstParty: true,
    });
    user = await h.user();
  });
  after(() => h.close());

  /** A second authorization in the same browser: straight back to the client with a code, and the token it gives. */
  const again = async (browser: Browser, scope: string) => {
    const { url, state, verifier } = await authorizationUrl(h, web.id, { scope });
    const result = await browser.go(url);
    assert.ok(result instanceof URL, `no consent page for a first-party client: ${result instanceof URL ? '' : result.html.match(/<h1[^>]*>([^<]*)/)?.[1]}`);
    const params = oauth.validateAuthResponse(h.as, web.client, result, state);
    const res = await oauth.authorizationCodeGrantRequest(h.as, web.client, web.auth, params, REDIRECT, verifier, insecure);
    return oauth.processAuthorizationCodeResponse(h.as, web.client, res);
  };

  test('asking for an API scope after a sign-in that asked only for openid', async () => {
    const browser = new Browser(h.issuer);
    await codeFlow(h, browser, web, user.username, { scope: 'openid' });
    const tokens = await again(browser, 'openid orders:read');
    assert.equal(claimsOf(tokens.access_token).scope, 'orders:read');
    assert.equal(claimsOf(tokens.access_token).aud, orders.audience);
  });

  test('after the session’s grant for the client was revoked', async () => {
    const browser = new Browser(h.issuer);
    const first = await codeFlow(h, browser, web, user.username, { scope: 'openid orders:read' });
    const revoked = await h.admin('DELETE', `/grants/${claimsOf(first.access_token).gid}`);
    assert.equal(revoked.status, 204);
    const tokens = await again(browser, 'openid orders:read');
    assert.notEqual(claimsOf(tokens.access_token).gid, claimsOf(first.access_token).gid, 'a new grant, not the revoked one');
  });
});
