import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { TOKEN_EXCHANGE_GRANT } from '../src/control/authorization/token-exchange.ts';
import { exchangeKey, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * An exchange client trades its own app's keys only. Another app's key is refused ("belongs to another
 * app"), and a refusal is not a use (docs/rotation.md): it spent the other key's rate limit and quota,
 * set its lastUsedAt, recorded the exchanger's address as one the key was used from (what an incident
 * report reads), and kept a key rotated with retire-when-drained from draining.
 */
describe('exchanging another app’s key', () => {
  let h: AuthHarness;
  let partner: { id: string; audience: string };
  let exchanger: Awaited<ReturnType<AuthHarness['client']>>;
  before(async () => {
    h = await startAuthHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '1000' });
    partner = await h.api('partner', [], { auth: { type: 'bearer' } });
    const own = (await h.admin('POST', '/apps', { name: 'Own' })).body.id;
    exchanger = await h.client({ name: 'Own edge', grantTypes: [TOKEN_EXCHANGE_GRANT], scopes: [], apiIds: [partner.id], exchangeAppId: own });
  });
  after(() => h.close());

  test('is refused and counts nothing against that key: no quota, no last use, no address', async () => {
    const other = (await h.admin('POST', '/apps', { name: 'Other' })).body.id;
    const created = await h.admin('POST', '/keys', {
      appId: other,
      access: [{ apiId: partner.id }],
      quota: { limit: 100, period: 'day' },
      rateLimits: [{ name: 'burst', limit: 1, windowSeconds: 60 }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id, secret } = created.body as { id: string; secret: string };

    await assert.rejects(exchangeKey(h, exchanger, secret), (e: oauth.ResponseBodyError) => {
      assert.equal(e.error, 'invalid_grant');
      assert.match(e.error_description ?? '', /another app/);
      return true;
    });
    await assert.rejects(exchangeKey(h, exchanger, secret), (e: oauth.ResponseBodyError) => {
      assert.match(e.error_description ?? '', /another app/, 'still refused as another app’s, not as over its rate limit');
      return true;
    });

    await h.gh.ctx.usage.flush();
    const key = (await h.admin('GET', `/keys/${id}`)).body;
    assert.equal(key.quota.used, 0, 'no quota spent');
    assert.equal(key.lastUsedAt, null, 'not a use');
    assert.deepEqual((await h.admin('GET', `/keys/${id}/addresses`)).body.items, [], 'the exchanger’s address is not one the key was used from');
  });
});
