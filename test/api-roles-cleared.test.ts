import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { call, expectProblem } from './support/harness.ts';
import { insecure, startAuthHarness, type AuthHarness } from './support/oauth.ts';

// An operator who set roles on an API must be able to take them away again (back to none), through
// the admin API's merge-patch PATCH, and the gateway must stop asking for them at once.
describe('admin API: an API’s required roles can be cleared with PATCH', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startAuthHarness();
  });
  after(() => h.close());

  /** A client-credentials token: it carries no user, so no roles. */
  const tokenFor = async (apiId: string, scope: string) => {
    const c = await h.client({ name: 'Reporter', grantTypes: ['client_credentials'], scopes: [scope], apiIds: [apiId] });
    return async () =>
      (await oauth.processClientCredentialsResponse(h.as, c.client, await oauth.clientCredentialsGrantRequest(h.as, c.client, c.auth, { scope }, insecure)))
        .access_token;
  };

  test('auth.roles: null removes them: a token without the role passes again, and the audit entry records the change', async () => {
    const api = await h.api('reports', ['reports:read'], { auth: { type: 'bearer', roles: ['admin'] } });
    const token = await tokenFor(api.id, 'reports:read');
    expectProblem(await call(h, '/reports/daily', { key: await token() }), 403, 'ROLE_REQUIRED');

    const cleared = await h.admin('PATCH', `/apis/${api.id}`, { auth: { roles: null } });
    assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
    assert.equal(cleared.body.auth.roles, undefined);
    assert.deepEqual(cleared.body.auth.scopes, ['reports:read'], 'the other auth settings stay');
    assert.deepEqual((await h.admin('GET', `/apis/${api.id}`)).body.auth, cleared.body.auth);
    assert.equal((await call(h, '/reports/daily', { key: await token() })).status, 200);

    const entry = (await h.audit('api.updated')).find((e: { targetId: string }) => e.targetId === api.id);
    assert.deepEqual(entry.before.auth.roles, ['admin']);
    assert.equal(entry.after.auth.roles, undefined);
  });

  test('auth.roles: [] clears them too', async () => {
    const api = await h.api('ledger', ['ledger:read'], { auth: { type: 'bearer', roles: ['finance'] } });
    const token = await tokenFor(api.id, 'ledger:read');
    const cleared = await h.admin('PATCH', `/apis/${api.id}`, { auth: { roles: [] } });
    assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
    assert.deepEqual(cleared.body.auth.roles ?? [], []);
    assert.equal((await call(h, '/ledger/entries', { key: await token() })).status, 200);
  });

  test('an API with roles turns key-only in one PATCH that clears them; keeping them is refused naming auth.roles', async () => {
    const api = await h.api('exports', [], { auth: { type: 'bearer', roles: ['staff'] } });
    const kept = await h.admin('PATCH', `/apis/${api.id}`, { auth: { type: 'apiKey' } });
    expectProblem(kept, 400, 'VALIDATION_FAILED');
    assert.deepEqual(
      kept.body.errors.map((e: { field: string }) => e.field),
      ['auth.roles'],
    );
    const changed = await h.admin('PATCH', `/apis/${api.id}`, { auth: { type: 'apiKey', roles: null } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal(changed.body.auth.type, 'apiKey');
    assert.equal(changed.body.auth.roles, undefined);
  });
});
