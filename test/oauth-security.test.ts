import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { asPage, authorizationUrl, Browser, insecure, REDIRECT, signIn, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/** The RFC 9700 (OAuth 2.0 Security BCP) checks that apply to this server, and bad input at its endpoints. */
describe('RFC 9700 security checks', () => {
  let h: AuthHarness;
  let orders: { id: string; audience: string };
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };

  before(async () => {
    h = await startAuthHarness();
    orders = await h.api('orders', ['orders:read']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    user = await h.user();
  });
  after(() => h.close());

  const errorPage = async (url: string) => {
    const page = asPage(await new Browser(h.issuer).go(url));
    assert.equal(page.status, 400);
    assert.doesNotMatch(page.html, /at .*\.js:\d+/, 'no stack trace');
    return page;
  };

  test('§4.1: redirect URIs match exactly; a variant is refused without redirecting to it', async () => {
    for (const variant of [`${REDIRECT}/extra`, `${REDIRECT}?x=1`, REDIRECT.replace('127.0.0.1', 'localhost'), `${REDIRECT}#frag`]) {
      const { url } = await authorizationUrl(h, web.id, { redirect_uri: variant });
      const page = await errorPage(url);
      assert.match(page.html, /redirect_uri/);
    }
  });

  test('§2.1.1: PKCE is required, and only S256: a request without it or with plain is refused', async () => {
    const without = new URL((await authorizationUrl(h, web.id)).url);
    without.searchParams.delete('code_challenge');
    without.searchParams.delete('code_challenge_method');
    const plain = new URL((await authorizationUrl(h, web.id)).url);
    plain.searchParams.set('code_challenge_method', 'plain');
    for (const url of [without, plain]) {
      const result = await new Browser(h.issuer).go(url.href);
      assert.ok(result instanceof URL, 'the error goes back to the registered redirect URI');
      assert.equal(result.searchParams.get('error'), 'invalid_request');
    }
  });

  test('§2.1.1: a code redeemed with the wrong verifier is refused (no PKCE downgrade)', async () => {
    const { url, state } = await authorizationUrl(h, web.id);
    const callback = await signIn(new Browser(h.issuer), url, user.username);
    const params = oauth.validateAuthResponse(h.as, web.client, callback, state);
    const res = await oauth.authorizationCodeGrantRequest(h.as, web.client, web.auth, params, REDIRECT, oauth.generateRandomCodeVerifier(), insecure);
    await assert.rejects(oauth.processAuthorizationCodeResponse(h.as, web.client, res), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant');
  });

  test('§4.2.4: a code used twice is refused, and the tokens from its first use are revoked', async () => {
    const { url, state, verifier } = await authorizationUrl(h, web.id, { resource: orders.audience, scope: 'openid orders:read' });
    const callback = await signIn(new Browser(h.issuer), url, user.username);
    const params = oauth.validateAuthResponse(h.as, web.client, callback, state);
    const redeem = () => oauth.authorizationCodeGrantRequest(h.as, web.client, web.auth, params, REDIRECT, verifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(h.as, web.client, await redeem());
    await assert.rejects(oauth.processAuthorizationCodeResponse(h.as, web.client, await redeem()), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant');
    const refresh = await oauth.refreshTokenGrantRequest(h.as, web.client, web.auth, tokens.refresh_token!, insecure);
    await assert.rejects(oauth.processRefreshTokenResponse(h.as, web.client, refresh), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant');
    const introspection = await oauth.processIntrospectionResponse(
      h.as,
      web.client,
      await oauth.introspectionRequest(h.as, web.client, web.auth, tokens.access_token, insecure),
    );
    assert.equal(introspection.active, false);
  });

  test('§2.1.2: no implicit or hybrid flow, no password grant', async () => {
    const implicit = await new Browser(h.issuer).go((await authorizationUrl(h, web.id, { response_type: 'token' })).url);
    assert.ok(implicit instanceof URL, 'the error goes back to the registered redirect URI');
    const answer = new URLSearchParams(implicit.hash.slice(1) || implicit.search);
    assert.equal(answer.get('error'), 'unsupported_response_type');
    assert.equal(answer.get('access_token'), null);
    const password = await fetch(h.as.token_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${web.id}:${web.secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'password', username: user.username, password: 'x' }),
    });
    assert.equal(password.status, 400);
    assert.equal(((await password.json()) as { error: string }).error, 'unsupported_grant_type');
    assert.deepEqual(h.as.response_types_supported, ['code']);
    assert.ok(!h.as.grant_types_supported?.includes('implicit'));
  });

  test('bad input at the token, introspection and revocation endpoints gets an RFC 6749 error, never a 500', async () => {
    const basic = `Basic ${Buffer.from(`${web.id}:${web.secret}`).toString('base64')}`;
    const cases: [string, Record<string, string>, string, Record<string, string>][] = [
      [h.as.token_endpoint!, {}, 'invalid_request', { authorization: basic }],
      [
        h.as.token_endpoint!,
        { grant_type: 'authorization_code', code: 'nope', redirect_uri: REDIRECT, code_verifier: 'x'.repeat(43) },
        'invalid_grant',
        { authorization: basic },
      ],
      [h.as.token_endpoint!, { grant_type: 'refresh_token', refresh_token: 'nope' }, 'invalid_grant', { authorization: basic }],
      [h.as.token_endpoint!, { grant_type: 'client_credentials' }, 'invalid_client', { authorization: 'Basic bm9ib2R5Om5vdGhpbmc=' }],
      [
        h.as.token_endpoint!,
        { grant_type: 'client_credentials' },
        'invalid_client',
        { authorization: `Basic ${Buffer.from(`${web.id}:wrong`).toString('base64')}` },
      ],
      // RFC 6749 §5.2: a grant type this client may not use.
      [h.as.token_endpoint!, { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange' }, 'unauthorized_client', { authorization: basic }],
      [h.as.introspection_endpoint!, {}, 'invalid_request', { authorization: basic }],
      // RFC 6749 §5.2: no client authentication at all is invalid_client.
      [h.as.revocation_endpoint!, { token: 'x' }, 'invalid_client', {}],
      [h.as.revocation_endpoint!, { token: 'x', client_id: web.id, client_secret: 'wrong' }, 'invalid_client', {}],
    ];
    for (const [endpoint, form, error, headers] of cases) {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(form),
      });
      const body = (await res.json()) as { error: string; error_description?: string };
      assert.ok(res.status === 400 || res.status === 401, `${endpoint} ${JSON.stringify(form)} -> ${res.status}`);
      assert.equal(body.error, error, `${endpoint} ${JSON.stringify(form)}: ${JSON.stringify(body)}`);
      assert.ok(!JSON.stringify(body).includes(web.secret!), 'no secret echoed');
    }
    const notForm = await fetch(h.as.token_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic },
      body: '{"grant_type":"client_credentials"}',
    });
    assert.equal(notForm.status, 400);
    assert.equal(((await notForm.json()) as { error: string }).error, 'invalid_request');
  });

  test('an unknown client at the authorization endpoint gets an error page, not a redirect', async () => {
    const page = await errorPage((await authorizationUrl(h, 'cli_unknown')).url);
    assert.match(page.html, /invalid_client/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  });
});
