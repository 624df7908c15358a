import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblem } from './support/harness.ts';
import { signInConsole, startConsoleHarness } from './support/console.ts';
import type { AuthHarness } from './support/oauth.ts';

/**
 * A developer cannot delete a key, so an app that ever had one could never be deleted: its revoked keys
 * counted as in use. An app whose keys are all revoked or expired is deletable by its developer; those
 * keys go with it, each audited, and the audit log keeps the trail. A key in use still refuses it.
 */
describe('the portal: deleting an app whose keys are all revoked', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startConsoleHarness({}, 'portal:\n  signup: open\n');
    await h.admin('POST', '/apis', { name: 'orders', listenPath: '/orders', upstreamUrl: h.upstream.url, portal: { listed: true } });
  });
  after(() => h.close());

  test('refused while a key is in use; once revoked, the app goes with its keys, and the audit log keeps them', async () => {
    const c = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
    const app = (await c.call('POST', '/portal/v1/apps', { name: 'shop' })).body;
    const first = (await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {})).body;
    const second = (await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {})).body;
    assert.equal((await c.call('POST', `/portal/v1/keys/${first.id}/revoke`, { reason: 'no longer needed' })).status, 200);

    const refused = await c.call('DELETE', `/portal/v1/apps/${app.id}`);
    expectProblem(refused, 409, 'CONFLICT');
    assert.match(refused.body.detail, /keys in use/);
    assert.equal((await c.call('GET', `/portal/v1/apps/${app.id}`)).status, 200, 'nothing was deleted');
    assert.equal((await c.call('GET', `/portal/v1/keys/${first.id}`)).status, 200);

    assert.equal((await c.call('POST', `/portal/v1/keys/${second.id}/revoke`, { reason: 'no longer needed' })).status, 200);
    const deleted = await c.call('DELETE', `/portal/v1/apps/${app.id}`);
    assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
    assert.equal((await c.call('GET', `/portal/v1/apps/${app.id}`)).status, 404);
    assert.equal((await c.call('GET', `/portal/v1/keys/${first.id}`)).status, 404);
    for (const key of [first, second]) {
      const trail = (await h.admin('GET', `/audit?targetId=${key.id}`)).body.items.map((e: { action: string }) => e.action);
      assert.deepEqual(trail, ['key.deleted', 'key.revoked', 'key.created']);
    }
    const appTrail = (await h.admin('GET', `/audit?targetId=${app.id}`)).body.items.map((e: { action: string }) => e.action);
    assert.deepEqual(appTrail, ['app.deleted', 'app.created']);
  });
});
