import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { keySchedule } from '../src/domain/signing-key-schedule.ts';
import { call, expectProblem } from './support/harness.ts';
import { Browser, codeFlow, insecure, REDIRECT, startAuthHarness, type AuthHarness } from './support/oauth.ts';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('gateway: bearer access tokens, per-route scopes and roles, forged tokens refused', () => {
  let h: AuthHarness;
  let orders: { id: string; audience: string };
  let billing: { id: string; audience: string };
  let reader: Awaited<ReturnType<AuthHarness['client']>>;
  let writer: Awaited<ReturnType<AuthHarness['client']>>;
  let signingKey: { jwk: JWK; kid: string };

  const token = async (c: typeof reader, params: Record<string, string> = { scope: 'orders:read' }) =>
    (await oauth.processClientCredentialsResponse(h.as, c.client, await oauth.clientCredentialsGrantRequest(h.as, c.client, c.auth, params, insecure)))
      .access_token;
  const get = (path: string, tokenValue?: string, init: { method?: string } = {}) =>
    call(h, path, { ...(tokenValue === undefined ? {} : { key: tokenValue }), ...init });
  /** Signs claims with Gatehouse's real signing key, to test claim rules apart from the signature. */
  const signed = async (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: signingKey.kid, ...header }).sign(await importJWK(signingKey.jwk, 'ES256'));
  const baseClaims = () => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: h.issuer,
      sub: 'usr_forged',
      aud: orders.audience,
      client_id: 'cli_x',
      scope: 'orders:read',
      iat: now,
      exp: now + 300,
      jti: `j${Math.random()}`,
    };
  };

  before(async () => {
    // Many refusals from one address on purpose: keep the failure throttle out of the way.
    // Over real HTTPS, credentials over plain HTTP refused, as in production.
    h = await startAuthHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '1000', GATEHOUSE_TEST_GATEWAY: 'https' });
    orders = await h.api('orders', [], {
      auth: {
        type: 'bearer',
        routes: [
          { paths: ['/admin/**'], scopes: ['orders:read'], roles: ['admin'] },
          { paths: ['/status'], type: 'public' },
          { methods: ['GET', 'HEAD'], scopes: ['orders:read'] },
          { methods: ['POST', 'PUT', 'PATCH', 'DELETE'], scopes: ['orders:write'] },
        ],
      },
    });
    billing = await h.api('billing', ['billing:read'], { auth: { type: 'bearer' } });
    reader = await h.client({ name: 'Reader', grantTypes: ['client_credentials'], scopes: ['orders:read'], apiIds: [orders.id] });
    writer = await h.client({
      name: 'Writer',
      grantTypes: ['client_credentials'],
      scopes: ['orders:read', 'orders:write', 'billing:read'],
      apiIds: [orders.id, billing.id],
    });
    const [active] = keySchedule(await h.gh.ctx.store.signingKeys.all(), Date.now()).published;
    signingKey = { kid: active!.id, jwk: JSON.parse(h.gh.ctx.identity!.signingKeyBox.open(active!.sealedPrivateJwk, active!.id)) };
  });
  after(() => h.close());

  test('a valid token reaches the upstream, which gets the identity and never the token', async () => {
    const at = await token(reader);
    const res = await get('/orders/items/1', at);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const seen = h.upstream.requests.at(-1)!;
    assert.equal(seen.headers['x-gatehouse-user'], reader.id);
    assert.equal(seen.headers['x-gatehouse-client'], reader.id);
    assert.equal(seen.headers['x-gatehouse-scopes'], 'orders:read');
    assert.equal(seen.headers.authorization, undefined);
    assert.equal((await get('/orders/items/1', at)).status, 200, 'again, from the verified-token cache');
    // Cached tokens alternated: each request carries its own token's scopes, never the other's.
    const wider = await token(writer, { resource: orders.audience, scope: 'orders:read orders:write' });
    for (const [t, scopes] of [
      [at, 'orders:read'],
      [wider, 'orders:read orders:write'],
      [at, 'orders:read'],
      [wider, 'orders:read orders:write'],
    ] as const) {
      assert.equal((await get('/orders/items/1', t)).status, 200);
      assert.equal(h.upstream.requests.at(-1)!.headers['x-gatehouse-scopes'], scopes);
    }
  });

  test('scopes differ by method: GET needs orders:read, POST orders:write (403 insufficient_scope with the scope)', async () => {
    const readOnly = await token(reader);
    const denied = await get('/orders/items', readOnly, { method: 'POST' });
    expectProblem(denied, 403, 'INSUFFICIENT_SCOPE');
    assert.equal(
      denied.headers.get('www-authenticate'),
      'Bearer realm="gatehouse", error="insufficient_scope", error_description="The credential lacks a required scope", scope="orders:write"',
    );
    const readWrite = await token(writer, { resource: orders.audience, scope: 'orders:read orders:write' });
    assert.equal((await get('/orders/items', readWrite, { method: 'POST' })).status, 200);
  });

  test('a route can require a role, and a public route needs nothing', async () => {
    const at = await token(writer, { resource: orders.audience, scope: 'orders:read' });
    expectProblem(await get('/orders/admin/users', at), 403, 'ROLE_REQUIRED');
    assert.equal((await get('/orders/status')).status, 200);
  });

  test('no token: 401 with a Bearer challenge; an API key where the token belongs is named as such', async () => {
    const missing = await get('/orders/items');
    expectProblem(missing, 401, 'MISSING_TOKEN');
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="gatehouse"');
    const key = await get('/orders/items', 'gk_live_000000000000000000000000000000');
    expectProblem(key, 401, 'MISSING_TOKEN');
    assert.match(key.body.detail, /an API key is not an access token/);
  });

  test('a problem names the credential that is missing, in its title and its detail', async () => {
    const partner = await h.api('named', ['named:read'], { auth: { type: 'apiKey+bearer' } });
    const app = await h.admin('POST', '/apps', { name: 'Named app' });
    const key = await h.admin('POST', '/keys', { appId: app.body.id, access: [{ apiId: partner.id }] });
    const client = await h.client({ name: 'Named user', grantTypes: ['client_credentials'], scopes: ['named:read'], apiIds: [partner.id] });
    const at = await token(client, { scope: 'named:read' });
    const keyOnly = await call(h, '/named/x', { key: key.body.secret, header: 'x-api-key' });
    assert.equal(keyOnly.status, 401);
    assert.match(keyOnly.body.title, /access token/);
    assert.doesNotMatch(keyOnly.body.title, /API key/);
    assert.match(keyOnly.body.detail, /access token/);
    const tokenOnly = await call(h, '/named/x', { key: at });
    assert.equal(tokenOnly.status, 401);
    assert.match(tokenOnly.body.title, /API key/);
    assert.doesNotMatch(tokenOnly.body.title, /access token/);
    assert.match(tokenOnly.body.detail, /API key/);
    assert.match(tokenOnly.body.detail, /X-API-Key/);
    assert.notEqual(keyOnly.body.code, tokenOnly.body.code, 'each missing credential has its own code');
    const neither = await call(h, '/named/x');
    assert.equal(neither.status, 401);
    for (const text of [neither.body.title, neither.body.detail]) {
      assert.match(text, /API key/);
      assert.match(text, /access token/);
    }
    // On a bearer route only the token is asked for.
    const bearer = await get('/orders/items');
    assert.match(bearer.body.title, /access token/);
    assert.doesNotMatch(bearer.body.title, /API key/);
  });

  test('a token for another API is refused (audience), even from the same issuer', async () => {
    const forBilling = await token(writer, { resource: billing.audience, scope: 'billing:read' });
    const res = await get('/orders/items', forBilling);
    expectProblem(res, 401, 'TOKEN_WRONG_AUDIENCE');
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  test('forged tokens are refused: alg none in every spelling, HMAC with the public key, embedded or remote keys, unknown kid', async () => {
    const claims = baseClaims();
    const forgeries: [string, string][] = [];
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) forgeries.push([`alg ${alg}`, `${b64({ alg, typ: 'at+jwt', kid: signingKey.kid })}.${b64(claims)}.`]);
    // Algorithm confusion: an HMAC keyed with the issuer's public key, as a naive verifier would check it.
    const publicJwk = { kty: signingKey.jwk.kty, crv: signingKey.jwk.crv, x: signingKey.jwk.x, y: signingKey.jwk.y };
    const hsInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: signingKey.kid })}.${b64(claims)}`;
    forgeries.push(['HS256 keyed with the public JWK', `${hsInput}.${createHmac('sha256', JSON.stringify(publicJwk)).update(hsInput).digest('base64url')}`]);
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const attackerJwk = await exportJWK(attacker.publicKey);
    const sign = (header: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...header }).sign(attacker.privateKey);
    forgeries.push(['embedded jwk', await sign({ jwk: attackerJwk })]);
    forgeries.push(['jku', await sign({ jku: 'http://127.0.0.1:9/jwks', kid: 'attacker' })]);
    forgeries.push(['x5u', await sign({ x5u: 'http://127.0.0.1:9/cert', kid: 'attacker' })]);
    forgeries.push(['x5c', await sign({ x5c: ['MIIB'], kid: signingKey.kid })]);
    forgeries.push(['unknown kid', await sign({ kid: 'not-a-known-key' })]);
    forgeries.push(['known kid, wrong key', await sign({ kid: signingKey.kid })]);
    const real = await signed(claims);
    forgeries.push(['flipped signature', `${real.slice(0, -6)}${real.slice(-6).split('').reverse().join('')}`]);
    for (const [name, forged] of forgeries) (expectProblem(await get('/orders/items', forged), 401, 'TOKEN_INVALID'), void name);
    assert.equal((await get('/orders/items', real)).status, 200, 'the same claims, properly signed, pass');
  });

  test('claims are checked: issuer, type, expiry and not-before beyond the skew, ID tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, string][] = [
      ['wrong iss', await signed({ ...baseClaims(), iss: 'https://evil.example' }), 'TOKEN_INVALID'],
      ['typ JWT', await signed(baseClaims(), { typ: 'JWT' }), 'TOKEN_INVALID'],
      ['no typ', await signed(baseClaims(), { typ: undefined }), 'TOKEN_INVALID'],
      ['expired', await signed({ ...baseClaims(), exp: now - 120 }), 'TOKEN_EXPIRED'],
      ['not yet valid', await signed({ ...baseClaims(), nbf: now + 600 }), 'TOKEN_INVALID'],
      ['no exp', await signed({ ...baseClaims(), exp: undefined }), 'TOKEN_INVALID'],
      ['ID token claims', await signed({ ...baseClaims(), nonce: 'n' }), 'TOKEN_INVALID'],
    ];
    for (const [name, forged, code] of cases) {
      const res = await get('/orders/items', forged);
      assert.equal(res.body.code, code, `${name}: ${JSON.stringify(res.body)}`);
    }
    assert.equal((await get('/orders/items', await signed({ ...baseClaims(), exp: now - 20 }))).status, 200, 'within the 30 s skew');
  });

  test('an ID token from a real sign-in is not an access token', async () => {
    const web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    const user = await h.user();
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    expectProblem(await get('/orders/items', tokens.id_token!), 401, 'TOKEN_INVALID');
    assert.equal((await get('/orders/items', tokens.access_token)).status, 200);
    assert.equal(h.upstream.requests.at(-1)!.headers['x-gatehouse-user'], user.id);
    assert.equal(h.upstream.requests.at(-1)!.headers['x-gatehouse-roles'], 'staff');
  });

  test('revocation reaches the gateway at once on this node: a revoked grant and an RFC 7009-revoked token', async () => {
    const web = await h.client({ name: 'Web2', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    const user = await h.user();
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    assert.equal((await get('/orders/items', tokens.access_token)).status, 200, 'cached as valid');
    await h.admin('POST', `/users/${user.id}/grants/revoke`);
    expectProblem(await get('/orders/items', tokens.access_token), 401, 'TOKEN_REVOKED');

    const at = await token(reader);
    assert.equal((await get('/orders/items', at)).status, 200);
    await oauth.processRevocationResponse(await oauth.revocationRequest(h.as, reader.client, reader.auth, at, insecure));
    expectProblem(await get('/orders/items', at), 401, 'TOKEN_REVOKED');
  });

  test('apiKey+bearer: the key identifies the app, the token the user; each is required and checked', async () => {
    const partner = await h.api('partner', ['partner:read'], { auth: { type: 'apiKey+bearer' } });
    const app = await h.admin('POST', '/apps', { name: 'Partner app' });
    const key = await h.admin('POST', '/keys', {
      appId: app.body.id,
      access: [{ apiId: partner.id }],
      rateLimits: [{ name: 'burst', limit: 100, windowSeconds: 1 }],
    });
    const client = await h.client({ name: 'Partner user', grantTypes: ['client_credentials'], scopes: ['partner:read'], apiIds: [partner.id] });
    const at = await token(client, { scope: 'partner:read' });
    const both = await h.fetch(`${h.gh.gatewayUrl}/partner/x`, { headers: { authorization: `Bearer ${at}`, 'x-api-key': key.body.secret } });
    assert.equal(both.status, 200, await both.clone().text());
    assert.match(both.headers.get('ratelimit') ?? '', /burst/, 'the key’s limits apply');
    const seen = h.upstream.requests.at(-1)!.headers;
    assert.equal(seen['x-gatehouse-app'], app.body.id);
    assert.equal(seen['x-gatehouse-user'], client.id);
    assert.equal(seen['x-api-key'], undefined);

    const tokenOnly = await call(h, '/partner/x', { key: at });
    expectProblem(tokenOnly, 401, 'MISSING_API_KEY');
    assert.match(tokenOnly.body.detail, /X-API-Key/);
    expectProblem(await call(h, '/partner/x', { key: key.body.secret, header: 'x-api-key' }), 401, 'MISSING_TOKEN');
    expectProblem(await call(h, '/partner/x'), 401, 'MISSING_CREDENTIAL');
    await h.admin('POST', `/keys/${key.body.id}/revoke`, { reason: 'test' });
    const revoked = await h.fetch(`${h.gh.gatewayUrl}/partner/x`, { headers: { authorization: `Bearer ${at}`, 'x-api-key': key.body.secret } });
    assert.equal(revoked.status, 401);
    assert.equal(((await revoked.json()) as { code: string }).code, 'REVOKED');
  });

  test('an API’s rate limit counted per user: one user’s burst does not limit another', async () => {
    const limited = await h.api('limited', ['limited:read'], {
      auth: { type: 'bearer', rateLimits: [{ name: 'per-user', limit: 2, windowSeconds: 60, by: 'user' }] },
    });
    const alice = await h.client({ name: 'Alice', grantTypes: ['client_credentials'], scopes: ['limited:read'], apiIds: [limited.id] });
    const bob = await h.client({ name: 'Bob', grantTypes: ['client_credentials'], scopes: ['limited:read'], apiIds: [limited.id] });
    const [a, b] = [await token(alice, { scope: 'limited:read' }), await token(bob, { scope: 'limited:read' })];
    const first = await get('/limited/x', a);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('ratelimit-policy'), '"per-user";q=2;w=60');
    assert.equal((await get('/limited/x', a)).status, 200);
    const third = await get('/limited/x', a);
    expectProblem(third, 429, 'RATE_LIMITED');
    assert.ok(Number(third.headers.get('retry-after')) > 0);
    assert.equal((await get('/limited/x', b)).status, 200, 'another user has their own count');
    const bad = await h.admin('POST', '/apis', {
      name: 'bad',
      listenPath: '/bad',
      upstreamUrl: h.upstream.url,
      auth: { type: 'apiKey', scopes: [], rateLimits: [{ name: 'u', limit: 1, windowSeconds: 1, by: 'user' }] },
    });
    expectProblem(bad, 400, 'VALIDATION_FAILED');
  });

  test('a quota counted per app, kept in the store in batches', async () => {
    const metered = await h.api('metered', ['metered:read'], { auth: { type: 'bearer', rateLimits: [{ name: 'daily', limit: 2, period: 'day', by: 'app' }] } });
    const partner = await h.client({ name: 'Metered partner', grantTypes: ['client_credentials'], scopes: ['metered:read'], apiIds: [metered.id] });
    const other = await h.client({ name: 'Other partner', grantTypes: ['client_credentials'], scopes: ['metered:read'], apiIds: [metered.id] });
    const at = await token(partner, { scope: 'metered:read' });
    assert.equal((await get('/metered/x', at)).status, 200);
    const second = await get('/metered/x', at);
    assert.equal(second.status, 200);
    assert.match(second.headers.get('ratelimit') ?? '', /"daily";r=0/);
    expectProblem(await get('/metered/x', at), 429, 'QUOTA_EXCEEDED');
    assert.equal((await get('/metered/x', await token(other, { scope: 'metered:read' }))).status, 200, 'another app has its own quota');
    await h.gh.ctx.usage.flush();
    const day = new Date(h.clock.read()).toISOString().slice(0, 10);
    assert.equal(await h.gh.ctx.store.usage.counterUsed(`api:${metered.id}:daily:a:${partner.id}`, day), 2);
  });

  test('an API can ask for a signed identity JWT, which the upstream verifies with the JWKS and which is no access token', async () => {
    const signedApi = await h.api('signed', ['signed:read'], { identityJwt: true, auth: { type: 'bearer' } });
    const client = await h.client({ name: 'Signed caller', grantTypes: ['client_credentials'], scopes: ['signed:read'], apiIds: [signedApi.id] });
    const at = await token(client, { scope: 'signed:read' });
    assert.equal((await get('/signed/x', at)).status, 200);
    const header = h.upstream.requests.at(-1)!.headers.authorization as string;
    assert.match(header, /^Bearer ey/);
    const identityJwt = header.slice(7);
    assert.notEqual(identityJwt, at, 'never the caller’s own token');
    const { payload, protectedHeader } = await jwtVerify(identityJwt, createRemoteJWKSet(new URL(h.as.jwks_uri!)), {
      issuer: h.issuer,
      audience: signedApi.audience,
      typ: 'gatehouse-identity+jwt',
    });
    assert.equal(payload.sub, client.id);
    assert.equal(payload.scope, 'signed:read');
    assert.ok(payload.exp! - payload.iat! === 60);
    assert.equal(protectedHeader.alg, 'ES256');
    await get('/signed/x', at);
    assert.equal(h.upstream.requests.at(-1)!.headers.authorization, header, 'reused within its lifetime, not signed per request');
    expectProblem(await get('/signed/x', identityJwt), 401, 'TOKEN_INVALID');
  });

  test('DPoP-bound tokens need a fresh proof by the bound key (RFC 9449)', async () => {
    const bound = await h.client({ name: 'Bound', grantTypes: ['client_credentials'], scopes: ['orders:read'], apiIds: [orders.id], dpopBound: true });
    const keyPair = await oauth.generateKeyPair('ES256');
    const dpop = oauth.DPoP(bound.client, keyPair);
    const tokens = await oauth.processClientCredentialsResponse(
      h.as,
      bound.client,
      await oauth.clientCredentialsGrantRequest(h.as, bound.client, bound.auth, { scope: 'orders:read' }, { DPoP: dpop, ...insecure }),
    );
    const url = new URL(`${h.gh.gatewayUrl}/orders/items`);
    const ok = await oauth.protectedResourceRequest(tokens.access_token, 'GET', url, new Headers(), null, { DPoP: dpop, [oauth.customFetch]: h.fetch });
    assert.equal(ok.status, 200, await ok.clone().text());
    expectProblem(await get('/orders/items', tokens.access_token), 401, 'DPOP_REQUIRED');

    // A proof replayed, for another URL, or by another key is refused.
    const proofFor = async (target: string, key = keyPair, method = 'GET', accessToken = tokens.access_token, iat = Math.floor(Date.now() / 1000)) => {
      const jwk = await exportJWK(key.publicKey);
      return new SignJWT({ htm: method, htu: target, jti: crypto.randomUUID(), ath: createHash('sha256').update(accessToken).digest('base64url') })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .setIssuedAt(iat)
        .sign(key.privateKey);
    };
    const send = (proof: string) => h.fetch(url, { headers: { authorization: `DPoP ${tokens.access_token}`, dpop: proof } });
    const proof = await proofFor(url.href);
    assert.equal((await send(proof)).status, 200);
    const replay = await send(proof);
    assert.equal(replay.status, 401);
    assert.match(replay.headers.get('www-authenticate') ?? '', /^DPoP .*error="invalid_dpop_proof"/);
    assert.equal((await send(await proofFor(`${h.gh.gatewayUrl}/orders/other`))).status, 401);
    assert.equal((await send(await proofFor(url.href, await oauth.generateKeyPair('ES256')))).status, 401);
    assert.equal((await send(await proofFor(url.href, keyPair, 'POST'))).status, 401);
    assert.equal((await send(await proofFor(url.href, keyPair, 'GET', 'another-access-token'))).status, 401, 'ath for another token');
    assert.equal(
      (await send(await proofFor(url.href, keyPair, 'GET', tokens.access_token, Math.floor(Date.now() / 1000) - 600))).status,
      401,
      'iat outside the window',
    );
    assert.equal((await h.fetch(url, { headers: { authorization: `DPoP ${tokens.access_token}` } })).status, 401, 'no proof');
  });

  test('a cached token stops working when it expires', async () => {
    const at = await token(reader);
    assert.equal((await get('/orders/items', at)).status, 200);
    // Last in the suite: the clock does not go back.
    h.clock.advance(15 * 60_000 + 31_000);
    expectProblem(await get('/orders/items', at), 401, 'TOKEN_EXPIRED');
  });
});
