import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ControlError } from '../src/control/context.ts';
import { portalService } from '../src/control/services/portal.ts';
import type { User } from '../src/domain/entities.ts';
import { startHarness, type Harness } from './support/harness.ts';

/**
 * The portal's maxKeysPerApp is counted by the store as it inserts the key: requests for one app that
 * come together (a double-click, a script, two nodes) each passed the service's count before any of
 * them had stored its key, and together made more keys than the limit.
 */
describe('portal keys made at the same time stay within maxKeysPerApp', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({}, undefined, 'portal:\n  maxKeysPerApp: 2\n');
    await h.admin('POST', '/apis', { name: 'orders', listenPath: '/orders', upstreamUrl: h.upstream.url, portal: { listed: true } });
  });
  after(() => h.close());

  test('five requests at once for an app with room for two: two keys, three refusals', async () => {
    const actor = { actor: 'user:usr_dev', requestId: null };
    const user = { id: 'usr_dev', username: 'dev@example.com' } as User;
    const app = await portalService.createApp(h.gh.ctx, actor, user, { name: 'shop', description: null });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => portalService.createKey(h.gh.ctx, actor, user, app.id, { name: 'k' })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
    for (const r of results.filter((r) => r.status === 'rejected')) {
      assert.ok(r.reason instanceof ControlError && r.reason.code === 'LIMIT_REACHED', String(r.reason));
    }
    const stored = await h.gh.ctx.store.keys.list({ appId: app.id, limit: 10, now: h.gh.ctx.clock() });
    assert.equal(stored.items.length, 2);
  });
});
