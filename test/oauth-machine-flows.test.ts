import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { API_KEY_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../src/control/authorization/token-exchange.ts';
import { asPage, Browser, claimsOf, exchangeKey, insecure, PASSWORD, startAuthHarness, type AuthHarness } from './support/oauth.ts';

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

/** A public client of `apiId` for devices, and a device authorization it started (RFC 8628 §3.1-3.2). */
async function startDevice(h: AuthHarness, apiId: string, name: string, scope: string, grantTypes = [DEVICE_CODE]) {
  const tv = await h.client({ name, type: 'public', grantTypes, scopes: ['orders:read'], apiIds: [apiId] });
  const started = await oauth.processDeviceAuthorizationResponse(
    h.as,
    tv.client,
    await oauth.deviceAuthorizationRequest(h.as, tv.client, tv.auth, { scope }, insecure),
  );
  return { tv, started };
}

describe('client credentials, introspection, revocation, DPoP, device flow and key-to-token exchange', () => {
  let h: AuthHarness;
  let orders: { id: string; audience: string };
  let billing: { id: string; audience: string };
  let machine: Awaited<ReturnType<AuthHarness['client']>>;

  before(async () => {
    h = await startAuthHarness();
    orders = await h.api('orders', ['orders:read', 'orders:write'], { tokens: { accessTokenTtlSeconds: 600 } });
    billing = await h.api('billing', ['billing:read']);
    machine = await h.client({
      name: 'Nightly sync',
      grantTypes: ['client_credentials'],
      scopes: ['orders:read', 'billing:read'],
      apiIds: [orders.id, billing.id],
    });
  });
  after(() => h.close());

  const clientCredentials = async (c = machine, params: Record<string, string> = {}, options: oauth.TokenEndpointRequestOptions = {}) =>
    oauth.processClientCredentialsResponse(
      h.as,
      c.client,
      await oauth.clientCredentialsGrantRequest(h.as, c.client, c.auth, params, { ...options, ...insecure }),
    );
  const introspect = async (token: string, c = machine) =>
    oauth.processIntrospectionResponse(h.as, c.client, await oauth.introspectionRequest(h.as, c.client, c.auth, token, insecure));

  test('client credentials: an ES256 JWT for the named API, with the API’s lifetime; a scope beyond the client’s is refused', async () => {
    const tokens = await clientCredentials(machine, { resource: orders.audience, scope: 'orders:read' });
    const claims = claimsOf(tokens.access_token);
    assert.equal(claims.aud, orders.audience);
    assert.equal(claims.sub, machine.id);
    assert.equal(claims.scope, 'orders:read');
    assert.equal(tokens.expires_in, 600);
    // RFC 6749 §3.3: never dropped without a word; orders:write is not among the client’s scopes.
    await assert.rejects(
      clientCredentials(machine, { resource: orders.audience, scope: 'orders:read orders:write' }),
      (e: oauth.ResponseBodyError) => e.error === 'invalid_scope' && e.error_description!.includes('orders:write'),
    );
    await assert.rejects(
      clientCredentials(machine, { scope: 'orders:read' }),
      (e: oauth.ResponseBodyError) => e.error === 'invalid_target',
      'two APIs: the resource must be named',
    );
  });

  test('introspection answers for JWT access tokens, only to the client they were issued to (or one allowed that API)', async () => {
    const { access_token } = await clientCredentials(machine, { resource: orders.audience, scope: 'orders:read' });
    const active = await introspect(access_token);
    assert.equal(active.active, true);
    assert.equal(active.client_id, machine.id);
    assert.equal(active.aud, orders.audience);
    assert.equal(active.token_type, 'Bearer');
    const stranger = await h.client({ name: 'Stranger', grantTypes: ['client_credentials'], scopes: ['billing:read'], apiIds: [billing.id] });
    assert.equal((await introspect(access_token, stranger)).active, false);
    const resourceServer = await h.client({ name: 'Orders service', grantTypes: ['client_credentials'], scopes: [], apiIds: [orders.id] });
    assert.equal((await introspect(access_token, resourceServer)).active, true);
    assert.equal((await introspect(`${access_token.slice(0, -4)}AAAA`)).active, false, 'a bad signature is inactive');
  });

  test('revocation (RFC 7009) of a JWT access token makes it inactive and lists it for the gateway', async () => {
    const { access_token } = await clientCredentials(machine, { resource: orders.audience });
    const res = await oauth.revocationRequest(h.as, machine.client, machine.auth, access_token, insecure);
    await oauth.processRevocationResponse(res);
    assert.equal((await introspect(access_token)).active, false);
    assert.ok(h.gh.authorization!.revocations.isRevoked(undefined, claimsOf(access_token).jti));
    const listed = await h.gh.ctx.store.revocations.since(0, Date.now());
    assert.ok(listed.some((r) => r.kind === 'token' && r.id === claimsOf(access_token).jti));
    assert.equal((await h.audit('token.revoked'))[0].targetId, claimsOf(access_token).jti);
  });

  test('DPoP (RFC 9449): a DPoP-bound client gets tokens bound to its key, and none without a proof', async () => {
    const bound = await h.client({ name: 'Bound', grantTypes: ['client_credentials'], scopes: ['orders:read'], apiIds: [orders.id], dpopBound: true });
    const keyPair = await oauth.generateKeyPair('ES256');
    const tokens = await clientCredentials(bound, {}, { DPoP: oauth.DPoP(bound.client, keyPair) });
    assert.equal(tokens.token_type, 'dpop');
    const jkt = claimsOf(tokens.access_token).cnf?.jkt;
    assert.equal(typeof jkt, 'string');
    assert.equal((await introspect(tokens.access_token, bound)).token_type, 'DPoP');
    // A missing proof is named as such (as for token exchange below), not a bare invalid_grant.
    await assert.rejects(clientCredentials(bound), (e: oauth.ResponseBodyError) => e.error === 'invalid_request' && /DPoP/.test(e.error_description!));
  });

  test('device authorization (RFC 8628): the user enters the code, signs in, and the device gets tokens', async () => {
    const { tv, started } = await startDevice(h, orders.id, 'TV app', 'openid orders:read', [DEVICE_CODE, 'refresh_token']);
    const user = await h.user();
    const poll = () => oauth.deviceCodeGrantRequest(h.as, tv.client, tv.auth, started.device_code, insecure);
    await assert.rejects(oauth.processDeviceCodeResponse(h.as, tv.client, await poll()), (e: oauth.ResponseBodyError) => e.error === 'authorization_pending');

    const browser = new Browser(h.issuer);
    let page = asPage(await browser.go(started.verification_uri));
    assert.match(page.html, /Enter the code shown on your device/);
    page = asPage(await browser.submit(page, { user_code: started.user_code }));
    assert.match(page.html, /Confirm the device/);
    page = asPage(await browser.submit(page));
    page = asPage(await browser.submit(page, { username: user.username, password: PASSWORD }, '/login'));
    page = asPage(await browser.submit(page, {}, '/consent'));
    assert.match(page.html, /Device connected/);

    const tokens = await oauth.processDeviceCodeResponse(h.as, tv.client, await poll());
    assert.equal(claimsOf(tokens.access_token).sub, user.id);
    assert.equal(claimsOf(tokens.access_token).aud, orders.audience);
    assert.ok(tokens.refresh_token);
  });

  test('a device-flow step sent without the session its page started (the code form, the return from sign-in) is a 400 invalid_request, and the code still works from its page', async () => {
    const { started } = await startDevice(h, orders.id, 'Kiosk', 'orders:read');
    const form = `user_code=${encodeURIComponent(started.user_code)}&xsrf=forged`;
    for (const accept of ['application/json', 'text/html']) {
      const sent = await fetch(started.verification_uri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept },
        body: form,
      });
      assert.equal(sent.status, 400, accept);
      const text = await sent.text();
      if (accept === 'application/json') assert.equal(JSON.parse(text).error, 'invalid_request');
      else assert.match(text, /invalid_request|without the session/);
      assert.doesNotMatch(text, new RegExp(started.user_code));
    }
    const resumed = await fetch(`${started.verification_uri}/some-interaction`, { headers: { accept: 'application/json' } });
    assert.equal(resumed.status, 400);
    assert.equal(((await resumed.json()) as { error: string }).error, 'invalid_request');
    const browser = new Browser(h.issuer);
    let page = asPage(await browser.go(started.verification_uri));
    page = asPage(await browser.submit(page, { user_code: started.user_code }));
    assert.match(page.html, /Confirm the device/);
  });

  test('key-to-token exchange (RFC 8693): an API key becomes a short-lived token with the app’s identity; revoking the key stops it', async () => {
    const app = await h.admin('POST', '/apps', { name: 'Partner' });
    const key = await h.admin('POST', '/keys', { appId: app.body.id, access: [{ apiId: orders.id }], scopes: ['orders:read'] });
    const exchanger = await h.client({
      name: 'Partner edge',
      grantTypes: [TOKEN_EXCHANGE_GRANT],
      scopes: ['orders:read'],
      apiIds: [orders.id],
      exchangeAppId: app.body.id,
    });
    const exchange = async (subject: string, extra: Record<string, string> = {}) => exchangeKey(h, exchanger, subject, extra);

    const tokens = await exchange(key.body.secret);
    const claims = claimsOf(tokens.access_token);
    assert.equal(claims.sub, app.body.id);
    assert.equal(claims.app_id, app.body.id);
    assert.equal(claims.key_id, key.body.id);
    assert.equal(claims.aud, orders.audience);
    assert.equal(claims.scope, 'orders:read');
    assert.equal((tokens as { issued_token_type?: string }).issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');

    await assert.rejects(exchange(key.body.secret, { scope: 'orders:write' }), (e: oauth.ResponseBodyError) => e.error === 'invalid_scope');
    await assert.rejects(
      exchange('gk_live_notarealkey'),
      (e: oauth.ResponseBodyError) => e.error === 'invalid_grant' && !JSON.stringify(e.cause).includes('gk_live'),
    );
    const otherApp = await h.admin('POST', '/apps', { name: 'Other' });
    const otherKey = await h.admin('POST', '/keys', { appId: otherApp.body.id, access: [{ apiId: orders.id }] });
    await assert.rejects(exchange(otherKey.body.secret), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant', 'a key of another app');

    await h.admin('POST', `/keys/${key.body.id}/revoke`, { reason: 'leaked' });
    await assert.rejects(exchange(key.body.secret), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant');
    const refused = await h.audit('key.exchanged');
    assert.equal(refused.length, 1, 'only the one successful exchange is audited');
  });

  test('token exchange for a DPoP-bound client needs a proof, and binds the token to its key', async () => {
    const app = await h.admin('POST', '/apps', { name: 'Mobile partner' });
    const key = await h.admin('POST', '/keys', { appId: app.body.id, access: [{ apiId: orders.id }], scopes: ['orders:read'] });
    const bound = await h.client({
      name: 'Bound edge',
      grantTypes: [TOKEN_EXCHANGE_GRANT],
      scopes: ['orders:read'],
      apiIds: [orders.id],
      exchangeAppId: app.body.id,
      dpopBound: true,
    });
    const params = { subject_token: key.body.secret, subject_token_type: API_KEY_TOKEN_TYPE };
    const keyPair = await oauth.generateKeyPair('ES256');
    const dpop = oauth.DPoP(bound.client, keyPair);
    const tokens = await oauth.processGenericTokenEndpointResponse(
      h.as,
      bound.client,
      await oauth.genericTokenEndpointRequest(h.as, bound.client, bound.auth, TOKEN_EXCHANGE_GRANT, params, { DPoP: dpop, ...insecure }),
    );
    assert.equal(tokens.token_type, 'dpop');
    assert.equal(typeof claimsOf(tokens.access_token).cnf?.jkt, 'string');
    const without = oauth.genericTokenEndpointRequest(h.as, bound.client, bound.auth, TOKEN_EXCHANGE_GRANT, params, insecure);
    await assert.rejects(
      without.then((res) => oauth.processGenericTokenEndpointResponse(h.as, bound.client, res)),
      (e: oauth.ResponseBodyError) => e.error === 'invalid_request',
    );
  });

  test('the JWKS publishes the signing key and discovery names every endpoint', async () => {
    assert.equal(h.as.issuer, h.issuer);
    for (const endpoint of [
      'token_endpoint',
      'introspection_endpoint',
      'revocation_endpoint',
      'device_authorization_endpoint',
      'jwks_uri',
      'end_session_endpoint',
    ] as const) {
      assert.ok(h.as[endpoint]?.startsWith(h.issuer), endpoint);
    }
    const metadata = (await (await fetch(`${h.issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    assert.equal(metadata.issuer, h.issuer);
    const jwks = (await (await fetch(h.as.jwks_uri!)).json()) as { keys: { kid: string; alg: string; d?: string }[] };
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]!.alg, 'ES256');
    assert.equal(jwks.keys[0]!.d, undefined, 'no private part');
  });
});

describe('device user codes are rate-limited per address (RFC 8628 §5.1)', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startAuthHarness({ GATEHOUSE_AUTHORIZATION_LOGIN_IP_FAILURE_LIMIT: '3' });
  });
  after(() => h.close());

  test('past the limit of wrong codes from one address, even the right code waits there and is not looked up', async () => {
    const orders = await h.api('orders', ['orders:read']);
    const { started } = await startDevice(h, orders.id, 'TV app', 'orders:read');
    const browser = new Browser(h.issuer);
    // Each answer is the form again, with a fresh xsrf field: the next code is sent from it.
    let page = asPage(await browser.go(started.verification_uri));
    // Three of the 20^8 codes: the right one is among them once in 8.5 billion runs.
    for (const code of ['BCDF-GHJK', 'LMNP-QRST', 'VWXZ-BCDF']) {
      page = asPage(await browser.submit(page, { user_code: code }));
      assert.match(page.html, /That code is not right/);
    }
    const right = asPage(await browser.submit(page, { user_code: started.user_code }));
    assert.equal(right.status, 429);
    assert.match(right.headers.get('retry-after') ?? '', /^\d+$/);
    assert.match(right.html, /Too many wrong codes/);
    assert.doesNotMatch(right.html, /Confirm the device/);
  });
});
