import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TOKEN_EXCHANGE_GRANT } from '../src/control/authorization/token-exchange.ts';
import { call } from './support/harness.ts';
import { exchangeKey, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * On an API with `pathCase: insensitive`, a key's path limits match without regard to case (its
 * upstream routes that way). A token exchanged for that key stands in for it, so the parent-key
 * stage must match the key's paths the same way: the token may do exactly what the key may.
 */
describe('exchanged token on a case-insensitive API: the parent key is checked as the key itself is', () => {
  let h: AuthHarness;
  let api: { id: string; audience: string };
  let appId: string;
  let exchanger: Awaited<ReturnType<AuthHarness['client']>>;

  before(async () => {
    h = await startAuthHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '1000' });
    api = await h.api('legacy', [], { pathCase: 'insensitive', auth: { type: 'bearer', routes: [{ paths: ['/keyed/**'], type: 'apiKey' }] } });
    appId = (await h.admin('POST', '/apps', { name: 'Legacy partner' })).body.id;
    exchanger = await h.client({ name: 'Legacy edge', grantTypes: [TOKEN_EXCHANGE_GRANT], scopes: [], apiIds: [api.id], exchangeAppId: appId });
  });
  after(() => h.close());

  test('a key limited to /keyed/** and /items/** is accepted on /Items/1 and /Keyed/1; so is its token on /Items/1', async () => {
    const k = await h.admin('POST', '/keys', { appId, access: [{ apiId: api.id, paths: ['/items/**', '/keyed/**'] }] });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    const secret = k.body.secret as string;
    // The key itself, on a route that takes keys: matched without regard to case.
    assert.equal((await call(h, '/legacy/Keyed/1', { key: secret, header: 'x-api-key' })).status, 200);
    const { access_token } = await exchangeKey(h, exchanger, secret);
    assert.equal((await call(h, '/legacy/items/1', { key: access_token })).status, 200);
    const upper = await call(h, '/legacy/Items/1', { key: access_token });
    assert.equal(upper.status, 200, `the token is refused where its key is allowed: ${JSON.stringify(upper.body)}`);
    // Still a child of the key: outside the key's paths, refused whatever the case.
    assert.equal((await call(h, '/legacy/Admin/1', { key: access_token })).status, 403);
  });
});
