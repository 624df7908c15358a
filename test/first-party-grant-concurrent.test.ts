import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { authorizationUrl, Browser, claimsOf, codeFlow, insecure, REDIRECT, startAuthHarness, type AuthHarness } from './support/oauth.ts';
import { startPostgres, type PrivatePostgres } from './support/postgres.ts';

/**
 * A first-party client's grant is widened to what each authorization asks for (authorization-server.ts,
 * loadExistingGrant). Two authorizations at once in one session (two tabs, a page and a silent
 * renewal) each read the grant, widen it and save it: the last write used to win, so one request's
 * widening was lost and its code then asked for more than the grant held (its token came without the
 * scope it was issued for). On PostgreSQL, where each store call is real I/O and the two requests
 * interleave (on SQLite in one process they may not).
 */
describe('two concurrent authorizations of a first-party client in one session', () => {
  let pg: PrivatePostgres;
  let h: AuthHarness;
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };
  before(async () => {
    pg = await startPostgres();
    await pg.createDatabase('widening');
    h = await startAuthHarness({
      GATEHOUSE_STORE_DRIVER: 'postgres',
      GATEHOUSE_STORE_URL: pg.urlWithoutPassword('widening'),
      GATEHOUSE_STORE_PASSWORD: pg.password,
    });
    const orders = await h.api('orders', ['orders:read', 'orders:write']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read', 'orders:write'], apiIds: [orders.id], firstParty: true });
    user = await h.user();
  });
  after(async () => {
    await h?.close();
    await pg?.stop();
  });

  /** An authorization in the signed-in browser, straight back with a code (no consent), and the token it gives. */
  const authorize = async (browser: Browser, scope: string) => {
    const { url, state, verifier } = await authorizationUrl(h, web.id, { scope });
    const result = await browser.go(url);
    assert.ok(result instanceof URL, `no page for a first-party client: ${result instanceof URL ? '' : `${result.status} ${result.html.slice(0, 300)}`}`);
    const params = oauth.validateAuthResponse(h.as, web.client, result, state);
    const res = await oauth.authorizationCodeGrantRequest(h.as, web.client, web.auth, params, REDIRECT, verifier, insecure);
    return oauth.processAuthorizationCodeResponse(h.as, web.client, res);
  };

  test('each widens the one grant: neither widening is lost, and each token carries the scope asked for', async () => {
    for (let round = 0; round < 10; round++) {
      const browser = new Browser(h.issuer);
      await codeFlow(h, browser, web, user.username, { scope: 'openid' });
      const [read, write] = await Promise.all([authorize(browser, 'openid orders:read'), authorize(browser, 'openid orders:write')]);
      assert.equal(claimsOf(read.access_token).scope, 'orders:read', `round ${round}: the first widening was lost`);
      assert.equal(claimsOf(write.access_token).scope, 'orders:write', `round ${round}: the second widening was lost`);
      const grantId = claimsOf(read.access_token).gid as string;
      assert.equal(claimsOf(write.access_token).gid, grantId, 'one grant, the session’s, widened by both');
    }
  });
});
