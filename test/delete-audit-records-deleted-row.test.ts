import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seed, startHarness, TestClock, type Harness } from './support/harness.ts';
import { TEST_MASTER_KEY } from './support/oauth.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

/**
 * A delete's audit entry records what was deleted: the row as the delete's transaction removed it,
 * not the copy the service read before. An edit stored between that read and the delete (another
 * operator, the delivery task's disable) is in the entry's `before`, where the read copy would have
 * recorded a state that no longer existed when the record went.
 */
describe("a delete's audit entry holds the row deleted, not the copy read before", () => {
  let receiver: WebhookReceiver;
  let h: Harness;
  let ids: Awaited<ReturnType<typeof seed>>;
  before(async () => {
    receiver = await WebhookReceiver.start();
    const yaml = `webhooks:\n  allowedNetworks: ['127.0.0.1/32']\n  caFile: ${receiver.caFile}\n  pollIntervalMs: 600000\n`;
    h = await startHarness({ GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY }, TestClock.wall(), yaml);
    ids = await seed(h);
  });
  after(async () => {
    await h.close();
    await receiver.stop();
  });

  /** The next read of `id` through `repo.get` is followed, before the reader goes on, by `edit`: a change made between a service's read and its write. */
  const editRightAfterRead = (repo: { get(id: string): Promise<unknown> }, id: string, edit: () => Promise<{ status: number }>) => {
    const get = repo.get;
    repo.get = async (asked: string) => {
      const read = await get.call(repo, asked);
      if (asked === id) {
        repo.get = get;
        const edited = await edit();
        assert.equal(edited.status, 200, 'the edit in between is stored');
      }
      return read;
    };
  };
  const deletedEntry = async (id: string, action: string) => {
    const entries = (await h.gh.ctx.store.audit.list({ targetId: id, action, limit: 10 })).items;
    assert.equal(entries.length, 1);
    return entries[0]!.before as Record<string, unknown>;
  };

  test('a webhook endpoint edited between the read and the delete: the entry has the edit', async () => {
    const created = await h.admin('POST', '/webhooks', { url: `${receiver.url}/hook`, events: ['key.created'], description: 'as read' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    editRightAfterRead(h.gh.ctx.store.webhooks, id, () =>
      h.admin('PATCH', `/webhooks/${id}`, { description: 'edited meanwhile', events: ['key.revoked'], enabled: false }),
    );
    assert.equal((await h.admin('DELETE', `/webhooks/${id}`)).status, 204);
    const before = await deletedEntry(id, 'webhook.deleted');
    assert.equal(before.description, 'edited meanwhile');
    assert.deepEqual(before.events, ['key.revoked']);
    assert.equal(before.enabled, false);
  });

  test('a key', async () => {
    const key = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], name: 'as read' });
    const id = key.body.id as string;
    editRightAfterRead(h.gh.ctx.store.keys, id, () => h.admin('PATCH', `/keys/${id}`, { name: 'edited meanwhile', enabled: false }));
    assert.equal((await h.admin('DELETE', `/keys/${id}`)).status, 204);
    const before = await deletedEntry(id, 'key.deleted');
    assert.equal(before.name, 'edited meanwhile');
    assert.equal(before.enabled, false);
  });

  test('an app and a policy (the one delete of apps, APIs and policies)', async () => {
    const app = (await h.admin('POST', '/apps', { name: 'as read', owner: 'a@example.com' })).body.id as string;
    editRightAfterRead(h.gh.ctx.store.apps, app, () => h.admin('PATCH', `/apps/${app}`, { name: 'edited meanwhile' }));
    assert.equal((await h.admin('DELETE', `/apps/${app}`)).status, 204);
    assert.equal((await deletedEntry(app, 'app.deleted')).name, 'edited meanwhile');
    const policy = (await h.admin('POST', '/policies', { name: 'as-read' })).body.id as string;
    editRightAfterRead(h.gh.ctx.store.policies, policy, () => h.admin('PATCH', `/policies/${policy}`, { name: 'edited-meanwhile' }));
    assert.equal((await h.admin('DELETE', `/policies/${policy}`)).status, 204);
    assert.equal((await deletedEntry(policy, 'policy.deleted')).name, 'edited-meanwhile');
  });
});
