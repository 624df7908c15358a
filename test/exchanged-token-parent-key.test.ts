import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { TOKEN_EXCHANGE_GRANT } from '../src/control/authorization/token-exchange.ts';
import { call, expectProblem } from './support/harness.ts';
import { claimsOf, exchangeKey, insecure, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * A token exchanged for an API key (RFC 8693) is a child of the key: it may do no more than the key,
 * for no longer than the key, and on the key's budget. Every check runs over real HTTP.
 */
describe('key-to-token exchange: the token is a child of its key', () => {
  let h: AuthHarness;
  let partner: { id: string; audience: string };
  let appId: string;
  let exchanger: Awaited<ReturnType<AuthHarness['client']>>;

  const key = async (body: Record<string, unknown> = {}) => {
    const res = await h.admin('POST', '/keys', { appId, access: [{ apiId: partner.id }], ...body });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { id: res.body.id as string, secret: res.body.secret as string, expiresAt: res.body.expiresAt as string | null };
  };
  const exchange = async (secret: string) => exchangeKey(h, exchanger, secret);
  const refused = (description: RegExp) => (e: oauth.ResponseBodyError) => {
    assert.equal(e.error, 'invalid_grant');
    assert.match(e.error_description ?? '', description);
    return true;
  };
  const withToken = (path: string, token: string, method = 'GET') => call(h, path, { key: token, method });
  const withKey = (path: string, secret: string) => call(h, path, { key: secret, header: 'x-api-key' });

  before(async () => {
    h = await startAuthHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '1000' });
    // Tokens everywhere, except /keyed/**, where the key itself is the credential.
    partner = await h.api('partner', [], { auth: { type: 'bearer', routes: [{ paths: ['/keyed/**'], type: 'apiKey' }] } });
    appId = (await h.admin('POST', '/apps', { name: 'Partner' })).body.id;
    exchanger = await h.client({ name: 'Partner edge', grantTypes: [TOKEN_EXCHANGE_GRANT], scopes: [], apiIds: [partner.id], exchangeAppId: appId });
  });
  after(() => h.close());

  test('a publishable key (gk_pub_) is refused at the exchange', async () => {
    const pub = await key({ publishable: true, allowedOrigins: ['https://shop.example'] });
    assert.ok(pub.secret.startsWith('gk_pub_'));
    await assert.rejects(exchange(pub.secret), refused(/publishable/));
  });

  test('a key bound to a client certificate is refused at the exchange, which cannot see the certificate', async () => {
    const bound = await key({ certificateThumbprint: 'A'.repeat(43) });
    await assert.rejects(exchange(bound.secret), refused(/client certificate/));
  });

  test('a key limited to GET /public/**: its token is refused on POST and outside /public', async () => {
    const limited = await key({ access: [{ apiId: partner.id, methods: ['GET'], paths: ['/public/**'] }] });
    const { access_token } = await exchange(limited.secret);
    assert.equal((await withToken('/partner/public/catalogue', access_token)).status, 200);
    const post = await withToken('/partner/public/catalogue', access_token, 'POST');
    expectProblem(post, 403, 'FORBIDDEN');
    assert.match(post.body.detail, /parent key/);
    expectProblem(await withToken('/partner/admin/users', access_token), 403, 'FORBIDDEN');
  });

  test('restrictions added to the key later hold for tokens already exchanged (IP allowlist, certificate)', async () => {
    const k = await key({ ipAllowlist: ['127.0.0.0/8'] });
    const { access_token } = await exchange(k.secret);
    assert.equal((await withToken('/partner/items', access_token)).status, 200);
    await h.admin('PATCH', `/keys/${k.id}`, { ipAllowlist: ['10.0.0.0/8'] });
    expectProblem(await withToken('/partner/items', access_token), 403, 'FORBIDDEN');
    await h.admin('PATCH', `/keys/${k.id}`, { ipAllowlist: null, certificateThumbprint: 'A'.repeat(43) });
    expectProblem(await withToken('/partner/items', access_token), 403, 'FORBIDDEN');
  });

  test('revoking, disabling or deleting the key refuses its tokens at the gateway at once', async () => {
    for (const [change, code] of [
      ['revoke', 'REVOKED'],
      ['disable', 'DISABLED'],
      ['delete', 'NOT_FOUND'],
    ] as const) {
      const k = await key();
      const { access_token } = await exchange(k.secret);
      assert.equal((await withToken('/partner/items', access_token)).status, 200, change);
      if (change === 'revoke') await h.admin('POST', `/keys/${k.id}/revoke`, { reason: 'leaked' });
      if (change === 'disable') await h.admin('PATCH', `/keys/${k.id}`, { enabled: false });
      if (change === 'delete') assert.equal((await h.admin('DELETE', `/keys/${k.id}`)).status, 204);
      const res = await withToken('/partner/items', access_token);
      expectProblem(res, 401, code);
      assert.match(res.body.detail, /parent key/, change);
    }
  });

  test('introspection answers inactive for a token whose key was revoked', async () => {
    const k = await key();
    const { access_token } = await exchange(k.secret);
    const introspect = async () =>
      oauth.processIntrospectionResponse(
        h.as,
        exchanger.client,
        await oauth.introspectionRequest(h.as, exchanger.client, exchanger.auth, access_token, insecure),
      );
    assert.equal((await introspect()).active, true);
    await h.admin('POST', `/keys/${k.id}/revoke`, { reason: 'leaked' });
    assert.equal((await introspect()).active, false);
  });

  test('key and token share one rate limit: N requests split between them, then both get 429', async () => {
    // The exchange is a use of the key too: 1 exchange + 2 with the key + 2 with the token = 5.
    const k = await key({ rateLimits: [{ name: 'hourly', limit: 5, windowSeconds: 3600 }] });
    const { access_token } = await exchange(k.secret);
    assert.equal((await withKey('/partner/keyed/a', k.secret)).status, 200);
    assert.equal((await withToken('/partner/items', access_token)).status, 200);
    assert.equal((await withKey('/partner/keyed/a', k.secret)).status, 200);
    const last = await withToken('/partner/items', access_token);
    assert.equal(last.status, 200);
    assert.match(last.headers.get('ratelimit') ?? '', /"hourly";r=0/);
    const limited = await withToken('/partner/items', access_token);
    expectProblem(limited, 429, 'RATE_LIMITED');
    assert.ok(limited.headers.get('retry-after'));
    expectProblem(await withKey('/partner/keyed/a', k.secret), 429, 'RATE_LIMITED');
  });

  test('key and token share one quota, and the token’s requests show in the key’s usage', async () => {
    const k = await key({ quota: { limit: 3, period: 'day' } });
    const { access_token } = await exchange(k.secret);
    assert.equal((await withKey('/partner/keyed/a', k.secret)).status, 200);
    assert.equal((await withToken('/partner/items', access_token)).status, 200);
    expectProblem(await withToken('/partner/items', access_token), 429, 'QUOTA_EXCEEDED');
    const view = await h.admin('GET', `/keys/${k.id}`);
    assert.equal(view.body.quota.used, 3);
    assert.ok(view.body.lastUsedAt);
  });

  // The tests below move the Gatehouse clock forward; they come last.

  test('the token never outlives the key: exp within the key’s expiry, and refused once the key has expired', async () => {
    const k = await key({ expiresInSeconds: 120 });
    const { access_token, expires_in } = await exchange(k.secret);
    const exp = claimsOf(access_token).exp as number;
    assert.ok(exp * 1000 <= Date.parse(k.expiresAt!), `exp ${exp} is after the key's expiry ${k.expiresAt}`);
    assert.ok(expires_in! <= 120);
    assert.equal((await withToken('/partner/items', access_token)).status, 200);
    // Past the key's expiry but inside the token verifier's clock skew: the key's expiry decides.
    h.clock.advance(Date.parse(k.expiresAt!) - h.clock.read() + 5_000);
    expectProblem(await withToken('/partner/items', access_token), 401, 'EXPIRED');
  });

  test('a rotated key: its tokens work during the grace period and are refused once it ends', async () => {
    const k = await key();
    const { access_token } = await exchange(k.secret);
    const rotated = await h.admin('POST', `/keys/${k.id}/rotate`, { gracePeriodSeconds: 60 });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    assert.equal((await withToken('/partner/items', access_token)).status, 200, 'inside the grace period');
    const during = await exchange(k.secret);
    assert.ok((claimsOf(during.access_token).exp as number) * 1000 <= h.clock.read() + 60_000, 'a token exchanged during the grace period ends with it');
    h.clock.advance(61_000);
    expectProblem(await withToken('/partner/items', access_token), 401, 'EXPIRED');
    expectProblem(await withToken('/partner/items', during.access_token), 401, 'EXPIRED');
  });
});
