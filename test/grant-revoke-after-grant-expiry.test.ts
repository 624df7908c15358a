import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, expectProblem } from './support/harness.ts';
import { Browser, claimsOf, codeFlow, REDIRECT, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * A grant's record lives refreshTokenAbsoluteTtlSeconds, but an access token issued (by a refresh)
 * shortly before that lives its own lifetime past it. Revoking the grant must still reach such a
 * token: DELETE /grants/{id} is not a 404 while one can be alive, and puts the grant on the list.
 */
describe('revoking a grant whose record has expired', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startAuthHarness(
      { GATEHOUSE_TEST_GATEWAY: 'https' },
      ['authorization:', '  refreshTokenTtlSeconds: 60', '  refreshTokenAbsoluteTtlSeconds: 60'].join('\n'),
    );
  });
  after(() => h.close());

  test('is accepted while its access tokens may live, and the gateway refuses them', async () => {
    const api = await h.api('orders', ['orders:read'], { auth: { type: 'bearer' } });
    const user = await h.user();
    const client = await h.client({ redirectUris: [REDIRECT], apiIds: [api.id], scopes: ['orders:read'], firstParty: true });
    const tokens = await codeFlow(h, new Browser(h.issuer), client, user.username, { scope: 'openid orders:read', resource: api.audience });
    const grantId = claimsOf(tokens.access_token).gid as string;
    assert.ok(grantId, 'the access token names its grant');

    // Past the grant's 60 s, within the access token's 900 s.
    h.clock.advance(120_000);
    assert.equal((await call(h, '/orders/items', { key: tokens.access_token })).status, 200, 'the access token still works');
    const res = await h.admin('DELETE', `/grants/${grantId}`);
    assert.equal(res.status, 204, JSON.stringify(res.body));
    expectProblem(await call(h, '/orders/items', { key: tokens.access_token }), 401, 'TOKEN_REVOKED');
    assert.equal((await h.admin('GET', `/audit?targetId=${grantId}&action=grant.revoked`)).body.items.length, 1);
  });

  test("is listed among the user's grants while its access tokens may live, as the impact report lists it, and revoked from there", async () => {
    const api = await h.api('billing', ['billing:read'], { auth: { type: 'bearer' } });
    const user = await h.user();
    const client = await h.client({ redirectUris: [REDIRECT], apiIds: [api.id], scopes: ['billing:read'], firstParty: true });
    const tokens = await codeFlow(h, new Browser(h.issuer), client, user.username, { scope: 'openid billing:read', resource: api.audience });
    const grantId = claimsOf(tokens.access_token).gid as string;

    // Past the grant's 60 s, within the access token's 900 s.
    h.clock.advance(120_000);
    assert.equal((await call(h, '/billing/items', { key: tokens.access_token })).status, 200, 'the access token still works');
    const report = (await h.admin('GET', `/users/${user.id}/impact`)).body as { timeline: { event: string; detail: string }[] };
    assert.ok(
      report.timeline.some((e) => e.event === 'grant' && e.detail.includes(grantId) && /ended .*access tokens may still work/.test(e.detail)),
      'the impact report lists the grant, as ended with its tokens still working',
    );
    const listed = (await h.admin('GET', `/users/${user.id}/grants`)).body.grants as { id: string; expiresAt: string }[];
    assert.deepEqual(
      listed.map((g) => g.id),
      [grantId],
      'the grant listing shows it too: its tokens still work, so it must be seen to be revoked',
    );
    assert.ok(Date.parse(listed[0]!.expiresAt) <= h.clock.read(), 'listed with its end, which has passed');
    assert.equal((await h.admin('DELETE', `/grants/${listed[0]!.id}`)).status, 204);
    expectProblem(await call(h, '/billing/items', { key: tokens.access_token }), 401, 'TOKEN_REVOKED');
  });
});
