import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblem } from './support/harness.ts';
import { Browser, codeFlow, REDIRECT, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * DELETE /admin/v1/grants/{id} revokes one grant. Like every other route, an id that names nothing is
 * 404 RESOURCE_NOT_FOUND and changes nothing: no "grant.revoked" in the audit log for a grant that
 * never existed (a typo would otherwise read as done), no revocation entry.
 */
describe('revoking one grant', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startAuthHarness();
  });
  after(() => h.close());

  test('an unknown grant id is 404 and audits nothing; a real grant is revoked', async () => {
    const made = 'grant-that-never-existed-0123456789';
    const res = await h.admin('DELETE', `/grants/${made}`);
    expectProblem(res, 404, 'RESOURCE_NOT_FOUND');
    assert.deepEqual((await h.admin('GET', `/audit?targetId=${made}`)).body.items, [], 'nothing audited');

    const api = await h.api('orders', ['orders:read']);
    const user = await h.user();
    const client = await h.client({ redirectUris: [REDIRECT], apiIds: [api.id], scopes: ['orders:read'] });
    await codeFlow(h, new Browser(h.issuer), client, user.username, { scope: 'openid orders:read', resource: api.audience });
    const [grant] = (await h.admin('GET', `/users/${user.id}/grants`)).body.grants;
    assert.ok(grant, 'the sign-in made a grant');
    assert.equal((await h.admin('DELETE', `/grants/${grant.id}`)).status, 204);
    assert.deepEqual((await h.admin('GET', `/users/${user.id}/grants`)).body.grants, []);
    assert.equal((await h.admin('GET', `/audit?targetId=${grant.id}&action=grant.revoked`)).body.items.length, 1);
  });
});
