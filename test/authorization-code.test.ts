import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import {
  asPage,
  authorizationUrl,
  Browser,
  claimsOf,
  codeFlow,
  headerOf,
  insecure,
  REDIRECT,
  signIn,
  startAuthHarness,
  type AuthHarness,
} from './support/oauth.ts';

describe('authorization code with PKCE through the sign-in pages', () => {
  let h: AuthHarness;
  let orders: { id: string; audience: string };
  let billing: { id: string; audience: string };
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };

  before(async () => {
    h = await startAuthHarness();
    orders = await h.api('orders', ['orders:read', 'orders:write']);
    billing = await h.api('billing', ['billing:read']);
    web = await h.client({
      name: 'Orders web',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['orders:read', 'billing:read'],
      apiIds: [orders.id, billing.id],
    });
    user = await h.user({ roles: ['staff', 'support'] });
  });
  after(() => h.close());

  test('a user signs in, consents, and the client gets an RFC 9068 access token bound to one API', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid email orders:read', resource: orders.audience });
    assert.equal(headerOf(tokens.access_token).typ, 'at+jwt');
    assert.equal(headerOf(tokens.access_token).alg, 'ES256');
    // An independent RFC 9068 validator accepts it for the orders API.
    const request = new Request('https://orders.example/', { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(h.as, request, orders.audience, insecure);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.client_id, web.id);
    assert.equal(claims.scope, 'orders:read');
    assert.deepEqual(claims.roles, ['staff', 'support']);
    assert.ok(claims.exp - claims.iat === 900, 'the access token lives 15 minutes by default');
    assert.ok(tokens.refresh_token, 'a refresh token is issued');
    assert.ok(tokens.id_token, 'an ID token is issued for openid');
    const [login] = await h.audit('user.login');
    assert.equal(login.targetId, user.id);
  });

  test('the authorization response carries iss (RFC 9207), which the client checks', async () => {
    const browser = new Browser(h.issuer);
    const { url, state } = await authorizationUrl(h, web.id, { resource: orders.audience, scope: 'openid orders:read' });
    const callback = await signIn(browser, url, user.username);
    assert.equal(callback.searchParams.get('iss'), h.issuer);
    assert.equal(callback.searchParams.get('state'), state);
    const forged = new URL(callback);
    forged.searchParams.set('iss', 'https://evil.example');
    assert.throws(() => oauth.validateAuthResponse(h.as, web.client, forged, state));
  });

  test('consent is asked once per client and skipped for a first-party client', async () => {
    const browser = new Browser(h.issuer);
    const { url } = await authorizationUrl(h, web.id, { resource: orders.audience, scope: 'openid orders:read' });
    let page = asPage(await browser.go(url));
    page = asPage(await browser.submit(page, { username: user.username, password: 'correct horse battery staple' }, '/login'));
    assert.match(page.html, /Allow access\?/);
    assert.match(page.html, /orders:read/);
    assert.match(page.html, /orders/);
    const first = await h.client({ name: 'Console', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    const again = await authorizationUrl(h, first.id, { resource: orders.audience, scope: 'openid orders:read' });
    const direct = await browser.go(again.url);
    assert.ok(
      direct instanceof URL && direct.searchParams.has('code'),
      `first-party: no consent page, and the session is reused: ${direct instanceof URL ? direct.href : direct.html.slice(0, 900)}`,
    );
  });

  test('SSO: one sign-in and one refresh token give audience-bound tokens for each API; a second app reuses the session', async () => {
    const browser = new Browser(h.issuer);
    const tokens = await codeFlow(
      h,
      browser,
      web,
      user.username,
      { scope: 'openid orders:read billing:read', resource: [orders.audience, billing.audience] },
      { resource: orders.audience },
    );
    assert.equal(claimsOf(tokens.access_token).aud, orders.audience);
    assert.equal(claimsOf(tokens.access_token).scope, 'orders:read');
    const res = await oauth.refreshTokenGrantRequest(h.as, web.client, web.auth, tokens.refresh_token!, {
      additionalParameters: { resource: billing.audience },
      ...insecure,
    });
    const forBilling = await oauth.processRefreshTokenResponse(h.as, web.client, res);
    assert.equal(claimsOf(forBilling.access_token).aud, billing.audience);
    assert.equal(claimsOf(forBilling.access_token).scope, 'billing:read');

    const other = await h.client({ name: 'Billing app', redirectUris: [REDIRECT], scopes: ['billing:read'], apiIds: [billing.id] });
    const { url } = await authorizationUrl(h, other.id, { resource: billing.audience, scope: 'openid billing:read' });
    const page = asPage(await browser.go(url));
    assert.doesNotMatch(page.html, /name="password"/, 'the second app does not ask for the password again');
    assert.match(page.html, /Allow access\?/);
  });

  test('refresh rotates the refresh token; reusing an old one revokes the whole grant', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    const first = await oauth.processRefreshTokenResponse(
      h.as,
      web.client,
      await oauth.refreshTokenGrantRequest(h.as, web.client, web.auth, tokens.refresh_token!, insecure),
    );
    assert.ok(first.refresh_token && first.refresh_token !== tokens.refresh_token, 'a new refresh token each time');
    const reuse = await oauth.refreshTokenGrantRequest(h.as, web.client, web.auth, tokens.refresh_token!, insecure);
    await assert.rejects(oauth.processRefreshTokenResponse(h.as, web.client, reuse), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant');
    // The successor dies with the grant, and so does the access token from it.
    const successor = await oauth.refreshTokenGrantRequest(h.as, web.client, web.auth, first.refresh_token!, insecure);
    await assert.rejects(oauth.processRefreshTokenResponse(h.as, web.client, successor), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant');
    const introspected = await oauth.processIntrospectionResponse(
      h.as,
      web.client,
      await oauth.introspectionRequest(h.as, web.client, web.auth, first.access_token, insecure),
    );
    assert.equal(introspected.active, false);
    const grantId = claimsOf(first.access_token).gid;
    assert.ok((await h.audit('grant.revoked')).some((e: any) => e.targetId === grantId));
  });

  test('a refresh asking for a wider scope is refused (RFC 6749 §6)', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    const res = await oauth.refreshTokenGrantRequest(h.as, web.client, web.auth, tokens.refresh_token!, {
      additionalParameters: { scope: 'openid orders:read billing:read' },
      ...insecure,
    });
    await assert.rejects(oauth.processRefreshTokenResponse(h.as, web.client, res), (e: oauth.ResponseBodyError) => e.error === 'invalid_scope');
  });

  test('a token for API A is not a token for API B: audience fixed, and no tokens for an API the client may not use', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    const request = new Request('https://billing.example/', { headers: { authorization: `Bearer ${tokens.access_token}` } });
    await assert.rejects(oauth.validateJwtAccessToken(h.as, request, billing.audience, insecure));
    const elsewhere = await h.api('payroll', ['payroll:read']);
    const res = await oauth.refreshTokenGrantRequest(h.as, web.client, web.auth, tokens.refresh_token!, {
      additionalParameters: { resource: elsewhere.audience },
      ...insecure,
    });
    await assert.rejects(oauth.processRefreshTokenResponse(h.as, web.client, res), (e: oauth.ResponseBodyError) => e.error === 'invalid_target');
  });
});

describe('refresh-token reuse grace window', () => {
  let h: AuthHarness;

  before(async () => {
    h = await startAuthHarness({ GATEHOUSE_AUTHORIZATION_REFRESH_TOKEN_REUSE_GRACE_SECONDS: '30' });
  });
  after(() => h.close());

  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };
  const refresh = async (token: string) =>
    oauth.processRefreshTokenResponse(h.as, web.client, await oauth.refreshTokenGrantRequest(h.as, web.client, web.auth, token, insecure));
  const signedIn = async () => codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read' });

  test('a retry inside the window continues the one chain: the first successor becomes a used token', async () => {
    const orders = await h.api('orders', ['orders:read']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    user = await h.user();
    const tokens = await signedIn();
    const first = await refresh(tokens.refresh_token!);
    const retried = await refresh(tokens.refresh_token!);
    assert.notEqual(retried.refresh_token, first.refresh_token);
    const next = await refresh(retried.refresh_token!);
    assert.ok(next.refresh_token, 'the retried chain goes on');
    // Whoever holds the first successor is now presenting a used token: the grant is revoked.
    await assert.rejects(refresh(first.refresh_token!), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant');
    await assert.rejects(refresh(next.refresh_token!), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant', 'the whole grant is revoked');
  });

  test('two holders of one refresh token cannot pass it back and forth inside the window: the first successor, once a retry spent it, is a reuse', async () => {
    const tokens = await signedIn();
    const first = await refresh(tokens.refresh_token!);
    const retried = await refresh(tokens.refresh_token!);
    // The holder of the first successor presents it inside the window: not a retry of its own, a reuse.
    await assert.rejects(refresh(first.refresh_token!), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant');
    await assert.rejects(refresh(retried.refresh_token!), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant', 'the whole grant is revoked');
  });

  test('after the window, reuse revokes the grant as usual', async () => {
    const tokens = await signedIn();
    const first = await refresh(tokens.refresh_token!);
    h.clock.advance(31_000);
    await assert.rejects(refresh(tokens.refresh_token!), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant');
    await assert.rejects(refresh(first.refresh_token!), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant');
  });
});
