import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { json, runCli } from './support/cli.ts';
import { startHarness, type Harness } from './support/harness.ts';

/**
 * The demo's banner prints the admin API as `http://127.0.0.1:8081/admin/v1`; a user who sets
 * GATEHOUSE_URL to that line (rather than to the listener) means the same admin API.
 */
describe('GATEHOUSE_URL copied with the admin API’s /admin/v1 path', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  for (const suffix of ['', '/', '/admin/v1', '/admin/v1/']) {
    test(`GATEHOUSE_URL=<control listener>${suffix} reaches the admin API: apps create and apps list work`, async () => {
      const env = { GATEHOUSE_URL: `${h.gh.controlUrl}${suffix}`, GATEHOUSE_ADMIN_KEY: h.adminKey };
      const name = `app-${suffix.replaceAll('/', '-') || 'bare'}`;
      const created = json(await runCli(['apps', 'create', '--name', name, '--owner', 'ops@example.com', '--json'], env));
      assert.match(created.id, /^app_[0-9a-f]{28}$/);
      const listed = json(await runCli(['apps', 'list', '--name', name, '--json'], env));
      assert.deepEqual(
        listed.items.map((a: { id: string }) => a.id),
        [created.id],
      );
    });
  }
});
