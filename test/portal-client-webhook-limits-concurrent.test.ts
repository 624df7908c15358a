import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PORTAL_CLIENT_ROUTES } from '../src/control/console/portal-client-routes.ts';
import { ControlError } from '../src/control/context.ts';
import { portalService } from '../src/control/services/portal.ts';
import { portalClientsService } from '../src/control/services/portal-clients.ts';
import { portalWebhooksService } from '../src/control/services/portal-webhooks.ts';
import type { App, User } from '../src/domain/entities.ts';
import { portalWebhookInputSchema } from '../src/domain/inputs/webhooks.ts';
import { startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * The portal's maxClientsPerApp and maxWebhooksPerApp are counted by the store as it inserts the
 * client or endpoint: requests for one app made together each passed the service's count before any
 * of them had stored its own (an endpoint's URL check resolves its host in between), and together
 * made more than the limit.
 */
describe('portal clients and webhook endpoints made at the same time stay within the per-app limits', () => {
  let h: AuthHarness;
  const actor = { actor: 'user:usr_dev', requestId: null };
  const user = { id: 'usr_dev', username: 'dev@example.com' } as User;
  let app: App;
  before(async () => {
    h = await startAuthHarness(
      {},
      `
webhooks:
  allowedNetworks: ['127.0.0.1/32']
  developerAllowedNetworks: ['127.0.0.1/32']
  pollIntervalMs: 600000
portal:
  maxAppsPerDeveloper: 5
  maxClientsPerApp: 2
  maxWebhooksPerApp: 2
`,
    );
    await h.api('orders', ['orders:read'], { portal: { listed: true } });
    app = await portalService.createApp(h.gh.ctx, actor, user, { name: 'shop', description: null });
  });
  after(() => h.close());

  const expectTwoOfFive = (results: PromiseSettledResult<unknown>[]) => {
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2, JSON.stringify(results.map((r) => r.status === 'rejected' && String(r.reason))));
    for (const r of results.filter((r) => r.status === 'rejected')) {
      assert.ok(r.reason instanceof ControlError && r.reason.code === 'LIMIT_REACHED', String(r.reason));
    }
  };

  test('five OAuth clients at once for an app with room for two: two clients, three refusals', async () => {
    const schema = PORTAL_CLIENT_ROUTES.find((r) => r.method === 'post' && r.path === '/apps/{id}/clients')!.body!;
    const input = schema.parse({ name: 'sync', grantTypes: ['client_credentials'], scopes: [] }) as Parameters<typeof portalClientsService.create>[4];
    expectTwoOfFive(await Promise.allSettled(Array.from({ length: 5 }, () => portalClientsService.create(h.gh.ctx, actor, user, app.id, input))));
    assert.equal((await h.gh.ctx.store.clients.listByApp(app.id, { limit: 10 })).items.length, 2);
  });

  test('five webhook endpoints at once for an app with room for two: two endpoints, three refusals', async () => {
    const input = portalWebhookInputSchema.parse({ url: 'https://127.0.0.1:9/hook', events: ['key.created'] });
    expectTwoOfFive(await Promise.allSettled(Array.from({ length: 5 }, () => portalWebhooksService.create(h.gh.ctx, actor, user, app.id, input))));
    assert.equal((await h.gh.ctx.store.webhooks.listByApp(app.id, { limit: 10 })).items.length, 2);
  });
});
