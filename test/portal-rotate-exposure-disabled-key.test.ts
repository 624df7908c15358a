import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signInConsole, startConsoleHarness } from './support/console.ts';
import type { AuthHarness } from './support/oauth.ts';

/**
 * A key the exposure policy disabled is the developer's to replace: the portal cannot enable a key, so
 * rotating it is the way out, and its successor (a new secret, never exposed) comes back enabled, as a
 * compromise's replacement does. A key an operator disabled stays disabled in its successor.
 */
describe('rotating a key the exposure policy disabled', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startConsoleHarness({}, 'portal:\n  signup: open\n');
    await h.admin('POST', '/apis', { name: 'orders', listenPath: '/orders', upstreamUrl: h.upstream.url, portal: { listed: true } });
  });
  after(() => h.close());

  test('the successor is enabled when the policy disabled the key; disabled when an operator did', async () => {
    const c = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
    const app = (await c.call('POST', '/portal/v1/apps', { name: 'shop' })).body;
    const exposed = (await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {})).body;
    const report = await h.admin('POST', `/keys/${exposed.id}/exposed`, { source: 'scanner', where: 'a public repository', action: 'disable' });
    assert.equal(report.status, 200, JSON.stringify(report.body));
    assert.equal((await c.call('GET', `/portal/v1/keys/${exposed.id}`)).body.status, 'disabled');

    const rotated = await c.call('POST', `/portal/v1/keys/${exposed.id}/rotate`, { gracePeriodSeconds: 0 });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    assert.equal(rotated.body.enabled, true, 'the new secret was never exposed: the successor works');
    assert.equal(rotated.body.status, 'active');
    assert.equal(rotated.body.exposedAt, null);
    assert.equal(rotated.body.previous.enabled, false, 'the exposed key stays disabled');

    const paused = (await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {})).body;
    assert.equal((await h.admin('PATCH', `/keys/${paused.id}`, { enabled: false })).status, 200);
    const successor = await c.call('POST', `/portal/v1/keys/${paused.id}/rotate`, { gracePeriodSeconds: 0 });
    assert.equal(successor.status, 201, JSON.stringify(successor.body));
    assert.equal(successor.body.enabled, false, "an operator's disable is kept");
  });
});
