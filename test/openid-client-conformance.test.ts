import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import { API_KEY_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../src/control/authorization/token-exchange.ts';
import { json, runCli } from './support/cli.ts';
import { call, expectProblem } from './support/harness.ts';
import { Browser, claimsOf, REDIRECT, signIn, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * Gatehouse's authorization server driven by openid-client (an OpenID Certified relying-party
 * library written apart from oidc-provider), as a relying party new to Gatehouse would use it:
 * discovery, the code flow with PKCE through the real sign-in form, UserInfo, refresh, client
 * credentials, introspection, DPoP; and the RFC error codes it sees when something is refused.
 */
describe('openid-client against Gatehouse: OpenID Connect and OAuth 2.0 as a relying party sees them', () => {
  let h: AuthHarness;
  let orders: { id: string; audience: string };
  let user: { id: string; username: string };

  type Registered = Awaited<ReturnType<AuthHarness['client']>>;
  /** What a relying party does first: discovery from the issuer, with its client id and authentication. */
  const configure = (c: Registered): Promise<client.Configuration> =>
    client.discovery(new URL(h.issuer), c.id, undefined, c.secret ? client.ClientSecretBasic(c.secret) : client.None(), {
      execute: [client.allowInsecureRequests],
    });
  /** A sign-in through the real pages; returns the token response openid-client validated (ID token, nonce, state, iss). */
  const signInWith = async (config: client.Configuration, params: Record<string, string>, tokenParams: Record<string, string> = {}) => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...params,
    });
    const callback = await signIn(new Browser(h.issuer), url.href, user.username);
    return client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }, tokenParams);
  };
  const refusal = (error: string, description?: RegExp) => (e: unknown) => {
    const err = e as client.ResponseBodyError;
    assert.equal(err.error, error, `${err.error}: ${err.error_description}`);
    if (description) assert.match(err.error_description ?? '', description);
    return true;
  };
  const post = async (endpoint: string, form: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as { error: string; error_description?: string; scope?: string } };
  };

  before(async () => {
    h = await startAuthHarness();
    orders = await h.api('orders', ['orders:read'], { auth: { type: 'bearer' } });
    user = await h.user({ name: 'Ada Lovelace' });
  });
  after(() => h.close());

  test('sign-in asking only for OpenID scopes gets a token UserInfo accepts, before and after a refresh (OIDC Core §5.3)', async () => {
    const web = await h.client({
      name: 'Orders web',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['orders:read'],
      apiIds: [orders.id],
    });
    const config = await configure(web);
    assert.equal(config.serverMetadata().userinfo_endpoint, `${h.issuer}/me`);
    const tokens = await signInWith(config, { scope: 'openid email profile' });
    const sub = tokens.claims()!.sub;
    assert.equal(sub, user.id);
    assert.equal(tokens.scope, 'openid email profile');
    const info = await client.fetchUserInfo(config, tokens.access_token, sub);
    assert.equal(info.email, user.username);
    assert.equal(info.name, 'Ada Lovelace');
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true);

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'rotated');
    assert.equal((await client.fetchUserInfo(config, refreshed.access_token, sub)).email, user.username);
    // Naming the API gets its token from the same grant, which UserInfo refuses: it is for the API.
    const forApi = await client.refreshTokenGrant(config, refreshed.refresh_token!, { resource: orders.audience });
    assert.equal(claimsOf(forApi.access_token).aud, orders.audience);
    await assert.rejects(
      client.fetchUserInfo(config, forApi.access_token, sub),
      (e: client.WWWAuthenticateChallengeError) => e.cause[0]?.parameters.error === 'invalid_token',
    );
  });

  test('sign-in asking for an API scope gets that API’s token, which the gateway accepts and introspection describes', async () => {
    const web = await h.client({
      name: 'Orders SPA',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['orders:read'],
      apiIds: [orders.id],
    });
    const config = await configure(web);
    const tokens = await signInWith(config, { scope: 'openid orders:read' });
    assert.equal(tokens.scope, 'orders:read', 'the narrowed scope is reported: the access token is the API’s');
    const claims = claimsOf(tokens.access_token);
    assert.equal(claims.aud, orders.audience);
    assert.equal(claims.scope, 'orders:read');
    const res = await client.fetchProtectedResource(config, tokens.access_token, new URL(`${h.gh.gatewayUrl}/orders/items`), 'GET');
    assert.equal(res.status, 200, await res.text());
    const introspected = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(introspected.active, true);
    assert.equal(introspected.scope, 'orders:read');
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.equal(claimsOf(refreshed.access_token).aud, orders.audience);
  });

  test('client credentials: a scope the client may not have is refused with invalid_scope, never dropped (RFC 6749 §3.3, §5.2)', async () => {
    const machine = await h.client({ name: 'Nightly sync', grantTypes: ['client_credentials'], scopes: ['orders:read'], apiIds: [orders.id] });
    const config = await configure(machine);
    const granted = await client.clientCredentialsGrant(config, { scope: 'orders:read' });
    assert.equal(granted.scope, 'orders:read');
    assert.equal(claimsOf(granted.access_token).scope, 'orders:read');
    await assert.rejects(client.clientCredentialsGrant(config, { scope: 'conf:admin' }), refusal('invalid_scope', /conf:admin/));
    await assert.rejects(client.clientCredentialsGrant(config, { scope: 'orders:read conf:admin' }), refusal('invalid_scope', /conf:admin/));
    await assert.rejects(
      client.clientCredentialsGrant(config, { scope: 'openid' }),
      refusal('invalid_scope', /openid/),
      'no user signs in: OpenID scopes mean nothing here',
    );
    const plain = await client.clientCredentialsGrant(config);
    assert.equal(plain.scope, undefined, 'nothing asked, nothing granted: no scope, and never an empty one');
    // A client with no API has nothing to grant: an opaque token carrying whatever scope was asked would be worse.
    const bare = await configure(await h.client({ name: 'No API', grantTypes: ['client_credentials'], apiIds: [] }));
    await assert.rejects(client.clientCredentialsGrant(bare, { scope: 'conf:admin' }), refusal('invalid_scope', /conf:admin/));
  });

  test('the code flow: a scope the client may not have is refused at the authorization endpoint; an empty scope is never answered', async () => {
    const web = await h.client({
      name: 'Orders portal',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code'],
      scopes: ['orders:read'],
      apiIds: [orders.id],
    });
    const config = await configure(web);
    await assert.rejects(
      signInWith(config, { scope: 'openid conf:admin' }),
      (e: client.AuthorizationResponseError) => e.error === 'invalid_scope' && /conf:admin/.test(e.error_description ?? ''),
    );
    // The device authorization request (RFC 8628 §3.2) likewise.
    const tv = await h.client({
      name: 'TV',
      type: 'public',
      grantTypes: ['urn:ietf:params:oauth:grant-type:device_code'],
      scopes: ['orders:read'],
      apiIds: [orders.id],
    });
    await assert.rejects(client.initiateDeviceAuthorization(await configure(tv), { scope: 'openid conf:admin' }), refusal('invalid_scope', /conf:admin/));
    // Two APIs and none named: an API scope is not dropped, the client is asked to name its API (RFC 8707).
    const billing = await h.api('billing', ['billing:read'], { auth: { type: 'bearer' } });
    const both = await configure(
      await h.client({
        name: 'Both',
        redirectUris: [REDIRECT],
        grantTypes: ['authorization_code'],
        scopes: ['orders:read', 'billing:read'],
        apiIds: [orders.id, billing.id],
      }),
    );
    await assert.rejects(
      signInWith(both, { scope: 'openid orders:read' }),
      (e: client.AuthorizationResponseError) => e.error === 'invalid_target' && /resource/.test(e.error_description ?? ''),
    );
    assert.equal(claimsOf((await signInWith(both, { scope: 'openid orders:read', resource: orders.audience })).access_token).scope, 'orders:read');
    // Only OpenID scopes, then the API's token asked for by name: it holds no scope, so none is reported.
    const tokens = await signInWith(config, { scope: 'openid', resource: orders.audience }, { resource: orders.audience });
    assert.equal(claimsOf(tokens.access_token).aud, orders.audience);
    assert.notEqual(tokens.scope, '', 'RFC 6749 §3.3: a scope is one or more scope tokens');
  });

  test('a grant type the client may not use is refused with unauthorized_client (RFC 6749 §5.2, RFC 8628 §3.2)', async () => {
    const web = await h.client({
      name: 'Web only',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code'],
      scopes: ['orders:read'],
      apiIds: [orders.id],
    });
    const machine = await h.client({ name: 'Machine only', grantTypes: ['client_credentials'], scopes: ['orders:read'], apiIds: [orders.id] });
    await assert.rejects(client.clientCredentialsGrant(await configure(web)), refusal('unauthorized_client', /client_credentials/));
    await assert.rejects(client.initiateDeviceAuthorization(await configure(machine), { scope: 'orders:read' }), refusal('unauthorized_client', /device_code/));
    await assert.rejects(client.refreshTokenGrant(await configure(machine), 'anything'), refusal('unauthorized_client', /refresh_token/));
  });

  test('no client authentication at the token, introspection, revocation and device endpoints is invalid_client, 401 (RFC 6749 §5.2)', async () => {
    const as = (await configure(await h.client({ name: 'Any', grantTypes: ['client_credentials'], apiIds: [orders.id] }))).serverMetadata();
    for (const [endpoint, form] of [
      [as.token_endpoint!, { grant_type: 'client_credentials' }],
      [as.introspection_endpoint!, { token: 'x' }],
      [as.revocation_endpoint!, { token: 'x' }],
      [as.device_authorization_endpoint!, { scope: 'openid' }],
    ] as const) {
      const res = await post(endpoint, form);
      assert.equal(res.status, 401, `${endpoint}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error, 'invalid_client', endpoint);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm=/, endpoint);
    }
  });

  test('a DPoP-bound client without a proof is told so (invalid_request naming DPoP); its token sent as Bearer gets a DPoP challenge (RFC 9449 §7.1)', async () => {
    const bound = await h.client({ name: 'Bound', grantTypes: ['client_credentials'], scopes: ['orders:read'], apiIds: [orders.id], dpopBound: true });
    const config = await configure(bound);
    await assert.rejects(client.clientCredentialsGrant(config, { scope: 'orders:read' }), refusal('invalid_request', /DPoP/));
    const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const tokens = await client.clientCredentialsGrant(config, { scope: 'orders:read' }, { DPoP: dpop });
    assert.equal(tokens.token_type, 'dpop');
    const ok = await client.fetchProtectedResource(config, tokens.access_token, new URL(`${h.gh.gatewayUrl}/orders/items`), 'GET', undefined, undefined, {
      DPoP: dpop,
    });
    assert.equal(ok.status, 200, await ok.text());
    const asBearer = await call(h, '/orders/items', { key: tokens.access_token });
    expectProblem(asBearer, 401, 'DPOP_REQUIRED');
    const challenge = asBearer.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^DPoP /);
    assert.match(challenge, /algs="[^"]*ES256[^"]*"/);
    assert.match(challenge, /error="invalid_token"/);
  });

  test('refusals at the token endpoint say why in error_description: token exchange (RFC 8693) and other invalid_grant answers', async () => {
    const app = await h.admin('POST', '/apps', { name: 'Partner' });
    const key = await h.admin('POST', '/keys', { appId: app.body.id, access: [{ apiId: orders.id }], scopes: ['orders:read'] });
    const exchanger = await h.client({
      name: 'Partner edge',
      grantTypes: [TOKEN_EXCHANGE_GRANT],
      scopes: ['orders:read'],
      apiIds: [orders.id],
      exchangeAppId: app.body.id,
    });
    const config = await configure(exchanger);
    const exchange = (extra: Record<string, string> = {}) =>
      client.genericGrantRequest(config, TOKEN_EXCHANGE_GRANT, { subject_token: key.body.secret, subject_token_type: API_KEY_TOKEN_TYPE, ...extra });
    assert.equal(claimsOf((await exchange()).access_token).key_id, key.body.id);
    await assert.rejects(exchange({ scope: 'orders:write' }), refusal('invalid_scope', /./));
    await assert.rejects(exchange({ resource: 'urn:gatehouse:api:nowhere' }), refusal('invalid_target', /resource/));
    await h.admin('POST', `/keys/${key.body.id}/revoke`, { reason: 'leaked' });
    await assert.rejects(exchange(), refusal('invalid_grant', /REVOKED/));

    const web = await h.client({
      name: 'Refresher',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['orders:read'],
      apiIds: [orders.id],
    });
    const refusedRefresh = await client.refreshTokenGrant(await configure(web), 'not-a-refresh-token').then(
      () => assert.fail('refreshed with a made-up token'),
      (e: client.ResponseBodyError) => e,
    );
    assert.equal(refusedRefresh.error, 'invalid_grant');
    assert.ok(refusedRefresh.error_description && refusedRefresh.error_description !== 'grant request is invalid', refusedRefresh.error_description);
  });

  test('the README example: clients get the scopes their API declares; a scope no API of the client grants is refused when the client is saved', async () => {
    const env = { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey };
    const cli = (args: string[]) => runCli(args, env);
    // `apis create` with the default auth mentions no scope: a client cannot be given orders:read on it.
    const keysOnly = json(await cli(['apis', 'create', '--name', 'shop', '--listen-path', '/shop', '--upstream', h.upstream.url, '--json']));
    const refused = await cli([
      'clients',
      'create',
      '--name',
      'Nightly sync',
      '--grant',
      'client_credentials',
      '--api',
      keysOnly.id,
      '--scopes',
      'orders:read',
      '--json',
    ]);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /orders:read/);
    const created = json(await cli(['clients', 'create', '--name', 'Nightly sync', '--grant', 'client_credentials', '--api', keysOnly.id, '--json']));
    const widened = await h.admin('PATCH', `/clients/${created.id}`, { scopes: ['shop:admin'] });
    expectProblem(widened, 400, 'VALIDATION_FAILED');
    assert.match(JSON.stringify(widened.body.errors), /shop:admin/);

    // The README's OAuth section: an API that takes access tokens declares its scope, then the client.
    const api = json(
      await cli([
        'apis',
        'create',
        '--name',
        'orders-api',
        '--listen-path',
        '/api/orders',
        '--upstream',
        h.upstream.url,
        '--data',
        '{"auth":{"type":"bearer","scopes":["orders:read"]}}',
        '--json',
      ]),
    );
    const sync = json(
      await cli(['clients', 'create', '--name', 'Nightly sync', '--grant', 'client_credentials', '--api', api.id, '--scopes', 'orders:read', '--json']),
    );
    const config = await configure({ id: sync.id, secret: sync.secret } as Registered);
    const tokens = await client.clientCredentialsGrant(config, { scope: 'orders:read' });
    assert.equal(claimsOf(tokens.access_token).scope, 'orders:read');
    assert.equal((await call(h, '/api/orders/items', { key: tokens.access_token })).status, 200);
  });
});
