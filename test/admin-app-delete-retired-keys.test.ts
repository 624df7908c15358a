import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli.ts';
import { anotherKey, expectProblem, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * The admin API (and `gatehouse apps delete`, which calls it) refused an app whose keys were all
 * revoked or expired, while the portal deletes such an app with its retired keys. Both now do the
 * same: the app goes with its retired keys, each audited; a key in use still refuses it (409).
 */
describe('the admin API: deleting an app whose keys are all retired', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  const cli = (args: string[]) => runCli(args, { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey });
  const newApp = async (name: string) => {
    const res = await h.admin('POST', '/apps', { name });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id as string;
  };
  const revoke = async (id: string) => assert.equal((await h.admin('POST', `/keys/${id}/revoke`, { reason: 'done' })).status, 200);

  test('refused while a key is in use; once revoked or expired, the app goes with its keys, and the audit log keeps them', async () => {
    const appId = await newApp('retired');
    const revoked = await anotherKey(h, { ...ids, appId });
    const expiring = await anotherKey(h, { ...ids, appId }, { expiresInSeconds: 60 });
    await revoke(revoked.id);

    const refused = await h.admin('DELETE', `/apps/${appId}`);
    expectProblem(refused, 409, 'CONFLICT');
    assert.match(refused.body.detail, /keys in use/);
    assert.equal((await h.admin('GET', `/apps/${appId}`)).status, 200, 'nothing was deleted');
    assert.equal((await h.admin('GET', `/keys/${revoked.id}`)).status, 200);

    h.clock.advance(61_000);
    const deleted = await h.admin('DELETE', `/apps/${appId}`);
    assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
    assert.equal((await h.admin('GET', `/apps/${appId}`)).status, 404);
    for (const key of [revoked, expiring]) {
      assert.equal((await h.admin('GET', `/keys/${key.id}`)).status, 404);
      const trail = (await h.admin('GET', `/audit?targetId=${key.id}`)).body.items.map((e: { action: string }) => e.action);
      assert.equal(trail[0], 'key.deleted');
    }
    const appTrail = (await h.admin('GET', `/audit?targetId=${appId}`)).body.items.map((e: { action: string }) => e.action);
    assert.deepEqual(appTrail, ['app.deleted', 'app.created']);
  });

  test('gatehouse apps delete: refused (exit 1, why) while a key is in use, then deletes the app with its retired keys', async () => {
    const appId = await newApp('retired-by-cli');
    const key = await anotherKey(h, { ...ids, appId });
    const refused = await cli(['apps', 'delete', appId]);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /keys in use/);
    await revoke(key.id);
    const done = await cli(['apps', 'delete', appId]);
    assert.equal(done.code, 0, done.stderr);
    assert.equal((await h.admin('GET', `/apps/${appId}`)).status, 404);
    assert.equal((await h.admin('GET', `/keys/${key.id}`)).status, 404);
  });
});
