import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ControlError } from '../src/control/context.ts';
import { portalService } from '../src/control/services/portal.ts';
import type { User } from '../src/domain/entities.ts';
import { startHarness, type Harness } from './support/harness.ts';

/**
 * The portal's maxAppsPerDeveloper is counted by the store as it inserts the app: requests made
 * together each passed the service's count before any of them had stored its app.
 */
describe('portal apps made at the same time stay within maxAppsPerDeveloper', () => {
  let h: Harness;
  before(async () => (h = await startHarness({}, undefined, 'portal:\n  maxAppsPerDeveloper: 2\n')));
  after(() => h.close());

  test('five requests at once from a developer with room for two: two apps, three refusals', async () => {
    const actor = { actor: 'user:usr_dev', requestId: null };
    const user = { id: 'usr_dev', username: 'dev@example.com' } as User;
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => portalService.createApp(h.gh.ctx, actor, user, { name: `app ${i}`, description: null })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
    for (const r of results.filter((r) => r.status === 'rejected')) {
      assert.ok(r.reason instanceof ControlError && r.reason.code === 'LIMIT_REACHED', String(r.reason));
    }
    assert.equal(await h.gh.ctx.store.apps.countByOwner(user.id), 2);
  });
});
