import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateKey } from '../src/domain/key-format.ts';
import { MIGRATIONS } from '../src/store/sqlite/migrations.ts';
import { keysService } from '../src/control/services/keys.ts';
import { json, MAIN, NODE, runCli, runShell } from './support/cli.ts';
import { call, startHarness, TEST_PEPPER, type Harness } from './support/harness.ts';

describe('gatehouse CLI against a running Gatehouse', () => {
  let h: Harness;
  let env: Record<string, string>;
  let storeEnv: Record<string, string>;
  const cli = (args: string[], extra: Record<string, string | undefined> = {}, input = '') => runCli(args, { ...env, ...extra }, input);
  const verify = async (key: string) => (await h.admin('POST', '/keys/verify', { key })).body;

  let apiId = '';
  let appId = '';

  before(async () => {
    h = await startHarness();
    env = { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey };
    storeEnv = { GATEHOUSE_DATA_DIR: h.dir, GATEHOUSE_PEPPER: TEST_PEPPER };
  });
  after(async () => {
    await h?.close();
  });

  /** An api key issued through the CLI, for tests that act on one. */
  async function createKey(): Promise<{ id: string; secret: string }> {
    const created = json(await cli(['keys', 'create', '--app', appId, '--api', apiId, '--json']));
    return { id: created.id, secret: created.secret };
  }

  test('apis create publishes an API and prints it as JSON', async () => {
    const api = json(await cli(['apis', 'create', '--name', 'orders', '--listen-path', '/orders', '--upstream', h.upstream.url, '--json']));
    assert.match(api.id, /^api_[0-9a-f]{28}$/);
    assert.equal(api.name, 'orders');
    assert.equal(api.listenPath, '/orders');
    assert.equal(api.upstreamUrl, h.upstream.url);
    const stored = await h.admin('GET', `/apis/${api.id}`);
    assert.equal(stored.status, 200);
    assert.equal(stored.body.name, 'orders');
    apiId = api.id;
  });

  test('apps create registers an app and prints it as JSON', async () => {
    const app = json(await cli(['apps', 'create', '--name', 'Acme integration', '--owner', 'acme@example.com', '--json']));
    assert.match(app.id, /^app_[0-9a-f]{28}$/);
    assert.equal(app.name, 'Acme integration');
    assert.equal(app.owner, 'acme@example.com');
    assert.equal((await h.admin('GET', `/apps/${app.id}`)).status, 200);
    appId = app.id;
  });

  test('without --json, apps and policies create print a sentence naming what was made, as keys and users create do', async () => {
    const app = await cli(['apps', 'create', '--name', 'Sentence app', '--owner', 'ops@example.com']);
    assert.equal(app.code, 0);
    assert.match(app.stdout, /^created app app_[0-9a-f]{28} \(Sentence app\): gatehouse apps show app_[0-9a-f]{28} shows all of it\n$/);
    const policy = await cli(['policies', 'create', '--name', 'sentence-policy', '--quota', '10/day']);
    assert.match(policy.stdout, /^created policy pol_[0-9a-f]{28} \(sentence-policy\)/);
  });

  test('apis list --json lists the published API', async () => {
    const list = json(await cli(['apis', 'list', '--json']));
    assert.deepEqual(
      list.items.map((a: { id: string }) => a.id),
      [apiId],
    );
  });

  test('keys create --json prints the secret once, with the rate limit and quota from the flags, and the key works', async () => {
    const run = await cli(['keys', 'create', '--app', appId, '--api', apiId, '--rate-limit', 'burst:10:1', '--quota', '100/day', '--json']);
    const key = json(run);
    assert.match(key.id, /^key_[0-9a-f]{28}$/);
    assert.match(key.secret, /^gk_live_[0-9A-Za-z]{30}$/);
    assert.equal(run.stdout.split(key.secret).length - 1, 1, 'the secret appears exactly once');
    assert.equal(key.appId, appId);
    assert.deepEqual(key.access, [{ apiId }]);
    assert.deepEqual(key.rateLimits, [{ name: 'burst', limit: 10, windowSeconds: 1 }]);
    assert.equal(key.quota.limit, 100);
    assert.equal(key.quota.period, 'day');
    assert.equal(key.status, 'active');

    const through = await call(h, '/orders/1', { key: key.secret });
    assert.equal(through.status, 200);

    const shown = await cli(['keys', 'show', key.id, '--json']);
    const shownKey = json(shown);
    assert.equal(shownKey.id, key.id);
    assert.equal(shownKey.start, key.start);
    assert.ok(!shown.stdout.includes(key.secret), 'keys show --json never prints the secret');
    assert.equal('secret' in shownKey, false);

    const listed = await cli(['keys', 'list', '--json']);
    const list = json(listed);
    assert.ok(list.items.some((k: { id: string }) => k.id === key.id));
    assert.ok(!listed.stdout.includes(key.secret), 'keys list --json never prints the secret');

    const text = await cli(['keys', 'show', key.id]);
    assert.equal(text.code, 0);
    assert.ok(text.stdout.includes(key.id));
    assert.ok(!text.stdout.includes(key.secret), 'keys show never prints the secret');
  });

  test('keys create without --json prints the secret once with the key id', async () => {
    const run = await cli(['keys', 'create', '--app', appId, '--api', apiId, '--name', 'text-output']);
    assert.equal(run.code, 0, run.stderr);
    const secrets = run.stdout.match(/gk_live_[0-9A-Za-z]{30}/g) ?? [];
    assert.equal(secrets.length, 1);
    assert.match(run.stdout, /created key key_[0-9a-f]{28} for app /);
    assert.equal((await verify(secrets[0]!)).valid, true);
  });

  test('keys verify reads the key from stdin and reports VALID with the key id', async () => {
    const key = await createKey();
    const result = json(await cli(['keys', 'verify', '--json'], {}, `${key.secret}\n`));
    assert.equal(result.valid, true);
    assert.equal(result.code, 'VALID');
    assert.equal(result.keyId, key.id);
    assert.equal(result.appId, appId);
  });

  test('keys verify reports a well-formed but unknown key from stdin as NOT_FOUND (exit 1)', async () => {
    const { secret } = generateKey('api', 'live');
    const run = await cli(['keys', 'verify', '--json'], {}, `${secret}\n`);
    assert.equal(run.code, 1, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.valid, false);
    assert.equal(result.code, 'NOT_FOUND');
    assert.equal(result.keyId, null);
  });

  test('keys verify without --json says whether the key is valid', async () => {
    const key = await createKey();
    const run = await cli(['keys', 'verify'], {}, key.secret);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), `valid: VALID (${key.id})`);
  });

  test('keys verify exits 1 for a key that is not valid, so `verify && deploy` stops', async () => {
    const key = await createKey();
    await h.admin('POST', `/keys/${key.id}/revoke`, { reason: 'test' });
    const text = await cli(['keys', 'verify'], {}, key.secret);
    assert.equal(text.code, 1, text.stderr);
    assert.equal(text.stdout.trim(), `not valid: REVOKED (${key.id})`);

    const asJson = await cli(['keys', 'verify', '--json'], {}, key.secret);
    assert.equal(asJson.code, 1);
    assert.equal(JSON.parse(asJson.stdout).code, 'REVOKED');

    const unknown = await cli(['keys', 'verify'], {}, generateKey('api', 'live').secret);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stdout, /not valid: NOT_FOUND/);

    const gated = await runShell(`printf %s "$K" | "${NODE}" "${MAIN}" keys verify && echo deployed`, { ...env, K: key.secret });
    assert.doesNotMatch(gated.stdout, /deployed/);
  });

  test('keys verify from the CLI counts nothing against the key’s rate limit, quota or usage; --consume counts', async () => {
    const key = json(await cli(['keys', 'create', '--app', appId, '--api', apiId, '--rate-limit', 'per-minute:1:60', '--quota', '5/day', '--json']));
    for (let i = 0; i < 3; i++) {
      const run = await cli(['keys', 'verify', '--json'], {}, key.secret);
      const result = json(run);
      assert.equal(result.code, 'VALID');
      assert.equal(result.ratelimits[0].remaining, 1);
    }
    assert.equal((await h.admin('GET', `/keys/${key.id}`)).body.lastUsedAt, null);
    const counted = json(await cli(['keys', 'verify', '--consume', '--json'], {}, key.secret));
    assert.equal(counted.code, 'VALID');
    assert.equal(counted.ratelimits[0].remaining, 0);
    const refused = await cli(['keys', 'verify', '--consume'], {}, key.secret);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /not valid: RATE_LIMITED/);
  });

  test('keys verify with nothing on stdin is a usage error (exit 2)', async () => {
    const run = await cli(['keys', 'verify'], {}, '');
    assert.equal(run.code, 2);
    assert.match(run.stderr, /stdin/);
  });

  test('keys rotate --grace 60 --json issues a new key and keeps the old one working for 60 seconds', async () => {
    const old = await createKey();
    const rotated = json(await cli(['keys', 'rotate', old.id, '--grace', '60', '--json']));
    assert.match(rotated.id, /^key_/);
    assert.notEqual(rotated.id, old.id);
    assert.match(rotated.secret, /^gk_live_/);
    assert.notEqual(rotated.secret, old.secret);
    assert.equal(rotated.rotatedFrom, old.id);
    assert.equal(rotated.previous.id, old.id);
    assert.equal(rotated.previous.expiresAt, new Date(h.clock.now + 60_000).toISOString());
    assert.equal('secret' in rotated.previous, false);
    assert.equal((await verify(rotated.secret)).code, 'VALID');
    assert.equal((await verify(old.secret)).code, 'VALID');
  });

  test('keys disable then keys enable turns the key off and on again', async () => {
    const key = await createKey();
    const disabled = json(await cli(['keys', 'disable', key.id, '--json']));
    assert.equal(disabled.status, 'disabled');
    assert.equal(disabled.enabled, false);
    assert.equal((await verify(key.secret)).code, 'DISABLED');

    const enabled = json(await cli(['keys', 'enable', key.id, '--json']));
    assert.equal(enabled.status, 'active');
    assert.equal(enabled.enabled, true);
    assert.equal((await verify(key.secret)).code, 'VALID');
  });

  test('keys revoke --reason leaked revokes the key at once and records the reason', async () => {
    const key = await createKey();
    const revoked = json(await cli(['keys', 'revoke', key.id, '--reason', 'leaked', '--json']));
    assert.equal(revoked.id, key.id);
    assert.equal(revoked.status, 'revoked');
    assert.equal(revoked.revokedReason, 'leaked');
    assert.equal(typeof revoked.revokedAt, 'string');
    assert.equal((await verify(key.secret)).code, 'REVOKED');
  });

  test('keys revoke without --reason is a usage error (exit 2) and leaves the key active', async () => {
    const key = await createKey();
    const run = await cli(['keys', 'revoke', key.id]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--reason/);
    assert.equal(run.stdout, '');
    assert.equal((await verify(key.secret)).code, 'VALID');
  });

  test('keys delete removes the key; showing it afterwards fails with RESOURCE_NOT_FOUND (exit 1)', async () => {
    const key = await createKey();
    const deleted = json(await cli(['keys', 'delete', key.id, '--json']));
    assert.deepEqual(deleted, { deleted: key.id });
    assert.equal((await h.admin('GET', `/keys/${key.id}`)).status, 404);
    assert.equal((await verify(key.secret)).valid, false);

    const shown = await cli(['keys', 'show', key.id]);
    assert.equal(shown.code, 1);
    assert.match(shown.stderr, /RESOURCE_NOT_FOUND/);
    assert.equal(shown.stdout, '');
  });

  test('an unknown id exits 1 with RESOURCE_NOT_FOUND on stderr, as JSON under --json', async () => {
    const unknownId = `key_${'0'.repeat(28)}`;
    const text = await cli(['keys', 'show', unknownId]);
    assert.equal(text.code, 1);
    assert.match(text.stderr, /RESOURCE_NOT_FOUND/);

    const asJson = await cli(['keys', 'show', unknownId, '--json']);
    assert.equal(asJson.code, 1);
    assert.equal(asJson.stdout, '');
    const error = JSON.parse(asJson.stderr.trim().split('\n').at(-1)!);
    assert.match(error.error, /RESOURCE_NOT_FOUND/);
    assert.equal(error.details.code, 'RESOURCE_NOT_FOUND');
  });

  test('keys list shows when a key was exposed, and --status exposed lists only exposed keys', async () => {
    const exposed = await createKey();
    const clean = await createKey();
    await keysService.flagExposed(h.gh.ctx, exposed.secret, '192.0.2.7');

    const text = await cli(['keys', 'list', '--limit', '100']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout.split('\n')[0]!, /EXPOSEDAT/);
    const row = text.stdout.split('\n').find((l) => l.startsWith(exposed.id));
    assert.match(row!, /\d{4}-\d\d-\d\dT/, 'the exposure time is in the row');

    const only = json(await cli(['keys', 'list', '--status', 'exposed', '--limit', '100', '--json']));
    assert.deepEqual(
      only.items.map((k: { id: string }) => k.id),
      [exposed.id],
    );
    assert.equal(typeof only.items[0].exposedAt, 'string');
    // The exposure policy's default disables an exposed live key: exposure and status filter together.
    const both = json(await cli(['keys', 'list', '--status', 'disabled', '--exposed', '--limit', '100', '--json']));
    assert.deepEqual(
      both.items.map((k: { id: string }) => k.id),
      [exposed.id],
    );
    const notExposed = json(await cli(['keys', 'list', '--limit', '100', '--json'])).items.map((k: { id: string }) => k.id);
    assert.ok(notExposed.includes(clean.id));

    const shown = await cli(['keys', 'show', exposed.id]);
    assert.match(shown.stdout, /exposedAt/);
  });

  test('audit lists the audit log newest first, filtered by --target and --action, as JSON with --json', async () => {
    const key = await createKey();
    await cli(['keys', 'revoke', key.id, '--reason', 'audit test']);
    const all = json(await cli(['audit', '--target', key.id, '--json']));
    assert.deepEqual(
      all.items.map((e: { action: string }) => e.action),
      ['key.revoked', 'key.created'],
    );
    assert.ok(all.items.every((e: { targetId: string }) => e.targetId === key.id));
    const revoked = json(await cli(['audit', '--action', 'key.revoked', '--target', key.id, '--json']));
    assert.equal(revoked.items.length, 1);
    assert.match(revoked.items[0].at, /^\d{4}-\d\d-\d\dT.*Z$/);

    const text = await cli(['audit', '--target', key.id, '--limit', '1']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /key\.revoked/);
    assert.doesNotMatch(text.stdout, /key\.created/);
    assert.match(text.stdout, /--cursor \S+/, 'a next page is offered');

    const bad = await cli(['audit', '--bogus']);
    assert.equal(bad.code, 2);
  });

  test('policies create --json creates a policy with the rate limit and quota from the flags', async () => {
    const policy = json(await cli(['policies', 'create', '--name', 'gold', '--rate-limit', 'burst:5:1', '--quota', '1000/month', '--json']));
    assert.match(policy.id, /^pol_[0-9a-f]{28}$/);
    assert.equal(policy.name, 'gold');
    assert.deepEqual(policy.rateLimits, [{ name: 'burst', limit: 5, windowSeconds: 1 }]);
    assert.deepEqual(policy.quota, { limit: 1000, period: 'month' });
    const listed = json(await cli(['policies', 'list', '--json']));
    assert.ok(listed.items.some((p: { id: string }) => p.id === policy.id));
  });

  test('keys create --app <name> --api <name> resolves both names to ids, and the key works', async () => {
    const key = json(await cli(['keys', 'create', '--app', 'Acme integration', '--api', 'orders', '--json']));
    assert.equal(key.appId, appId);
    assert.deepEqual(key.access, [{ apiId }]);
    assert.equal((await call(h, '/orders/by-name', { key: key.secret })).status, 200);
  });

  test('every --api, --app and --policy flag, and apis/apps/policies ids, take a name as well as an id', async () => {
    const policy = json(await cli(['policies', 'create', '--name', 'by-name', '--api', 'orders', '--json']));
    assert.deepEqual(policy.access, [{ apiId }]);
    const key = json(await cli(['keys', 'create', '--app', 'Acme integration', '--policy', 'by-name', '--json']));
    assert.equal(key.policyId, policy.id);
    const listed = json(await cli(['keys', 'list', '--app', 'Acme integration', '--api', 'orders', '--limit', '100', '--json']));
    assert.ok(listed.items.some((k: { id: string }) => k.id === key.id));
    const updated = json(await cli(['keys', 'update', key.id, '--policy', policy.id, '--api', 'orders', '--json']));
    assert.deepEqual(updated.access, [{ apiId }]);
    assert.equal(json(await cli(['apis', 'show', 'orders', '--json'])).id, apiId);
    assert.equal(json(await cli(['apps', 'show', 'Acme integration', '--json'])).id, appId);
    assert.equal(json(await cli(['policies', 'update', 'by-name', '--quota', '5/day', '--json'])).id, policy.id);
    // Without --json, a sentence naming what changed, as create prints, not the raw object.
    const sentence = await cli(['policies', 'update', 'by-name', '--quota', '6/day']);
    assert.equal(sentence.code, 0, sentence.stderr);
    assert.equal(sentence.stdout.trim(), `updated policy ${policy.id} (by-name): gatehouse policies show ${policy.id} shows all of it`);
  });

  test('an unknown --api or --app name exits 1 with a message naming it, and creates nothing', async () => {
    const before = json(await cli(['keys', 'list', '--limit', '100', '--json'])).items.length;
    const api = await cli(['keys', 'create', '--app', 'Acme integration', '--api', 'no-such-api']);
    assert.equal(api.code, 1);
    assert.match(api.stderr, /no API named "no-such-api"/);
    const app = await cli(['keys', 'create', '--app', 'No Such App', '--api', 'orders']);
    assert.equal(app.code, 1);
    assert.match(app.stderr, /no app named "No Such App"/);
    const shown = await cli(['apis', 'show', 'no-such-api']);
    assert.equal(shown.code, 1);
    assert.match(shown.stderr, /no API named "no-such-api"/);
    assert.equal(json(await cli(['keys', 'list', '--limit', '100', '--json'])).items.length, before);
  });

  test('an app name two apps share exits 1 and lists their ids', async () => {
    const first = json(await cli(['apps', 'create', '--name', 'Twin', '--json']));
    const second = json(await cli(['apps', 'create', '--name', 'Twin', '--json']));
    const run = await cli(['keys', 'create', '--app', 'Twin', '--api', 'orders']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /more than one app is named "Twin"/);
    assert.ok(run.stderr.includes(first.id) && run.stderr.includes(second.id), run.stderr);
  });

  test('keys create without --api or --policy exits 2, says how to grant access, and creates nothing', async () => {
    const before = json(await cli(['keys', 'list', '--limit', '100', '--json'])).items.length;
    const run = await cli(['keys', 'create', '--app', appId]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /works on no API/);
    assert.match(run.stderr, /--api/);
    assert.match(run.stderr, /--policy/);
    assert.equal(json(await cli(['keys', 'list', '--limit', '100', '--json'])).items.length, before);
  });

  test('keys create with a policy that grants no access exits 1 with the admin API’s refusal', async () => {
    const empty = json(await cli(['policies', 'create', '--name', 'no-access', '--quota', '10/day', '--json']));
    const run = await cli(['keys', 'create', '--app', appId, '--policy', empty.id]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /VALIDATION_FAILED/);
    assert.match(run.stderr, /works on no API/);
  });

  test('a validation failure from the admin API exits 1 and names the field', async () => {
    const run = await cli(['apis', 'create', '--name', 'Bad Name', '--listen-path', '/bad', '--upstream', h.upstream.url]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /VALIDATION_FAILED/);
    assert.match(run.stderr, /body\.name/);
  });

  test('an unknown command exits 2 with the usage', async () => {
    const run = await cli(['frobnicate']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown command frobnicate/);
    assert.match(run.stderr, /usage: gatehouse/);
  });

  test('an unknown verb exits 2 and lists the verbs', async () => {
    const run = await cli(['keys', 'frobnicate']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /usage: gatehouse keys <list\|show\|create/);
  });

  test('an unknown flag exits 2', async () => {
    const run = await cli(['keys', 'list', '--bogus']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /bogus/);
    assert.equal(run.stdout, '');
  });

  test('a malformed --rate-limit exits 2 without calling the admin API', async () => {
    const before = json(await cli(['keys', 'list', '--limit', '100', '--json'])).items.length;
    const run = await cli(['keys', 'create', '--app', appId, '--rate-limit', 'burst']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /name:limit:windowSeconds/);
    assert.equal(json(await cli(['keys', 'list', '--limit', '100', '--json'])).items.length, before);
  });

  test('a missing positional id exits 2', async () => {
    const run = await cli(['keys', 'show']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /usage: gatehouse keys show ID/);
  });

  test('without GATEHOUSE_ADMIN_KEY an admin command exits 2 and says to set it', async () => {
    const run = await cli(['keys', 'list'], { GATEHOUSE_ADMIN_KEY: undefined });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /set GATEHOUSE_ADMIN_KEY/);
    assert.match(run.stderr, /admin-keys create/);
    assert.equal(run.stdout, '');
  });

  test('a wrong admin key exits 1 with UNAUTHENTICATED', async () => {
    const run = await cli(['keys', 'list'], { GATEHOUSE_ADMIN_KEY: `gka_live_${'A'.repeat(30)}` });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /UNAUTHENTICATED/);
  });

  test('an unreachable admin API exits 1 and names GATEHOUSE_URL', async () => {
    const run = await cli(['keys', 'list'], { GATEHOUSE_URL: 'http://127.0.0.1:1' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:1/);
  });

  describe('admin-keys, on the store directly', () => {
    test('admin-keys create --json prints a key limited to its permissions: keys:read may list keys but not create them', async () => {
      const run = await cli(['admin-keys', 'create', '--name', 'ci', '--permissions', 'keys:read', '--json'], storeEnv);
      const created = json(run);
      assert.match(created.id, /^adk_[0-9a-f]{28}$/);
      assert.equal(created.name, 'ci');
      assert.deepEqual(created.permissions, ['keys:read']);
      assert.match(created.secret, /^gka_live_[0-9A-Za-z]{30}$/);
      assert.equal('hash' in created, false);

      const read = await h.admin('GET', '/keys', undefined, created.secret);
      assert.equal(read.status, 200);
      assert.ok(Array.isArray(read.body.items));

      const write = await h.admin('POST', '/keys', { appId, access: [{ apiId }] }, created.secret);
      assert.equal(write.status, 403);
      assert.equal(write.body.code, 'PERMISSION_DENIED');

      const viaCli = await cli(['keys', 'create', '--app', appId, '--api', apiId], { GATEHOUSE_ADMIN_KEY: created.secret });
      assert.equal(viaCli.code, 1);
      assert.match(viaCli.stderr, /PERMISSION_DENIED/);

      // A name is looked up with the resource's read permission; the message says to give the id instead.
      const byName = await cli(['keys', 'create', '--app', appId, '--api', 'orders'], { GATEHOUSE_ADMIN_KEY: created.secret });
      assert.equal(byName.code, 1);
      assert.match(byName.stderr, /apis:read/);
      assert.match(byName.stderr, /api_\.\.\./);
    });

    test('admin-keys list shows keys without their secrets; admin-keys revoke makes the key fail with 401', async () => {
      const created = json(await cli(['admin-keys', 'create', '--name', 'to-revoke', '--permissions', 'keys:read,apis:read', '--json'], storeEnv));
      assert.deepEqual(created.permissions, ['apis:read', 'keys:read']);
      assert.equal((await h.admin('GET', '/keys', undefined, created.secret)).status, 200);

      const listRun = await cli(['admin-keys', 'list', '--json'], storeEnv);
      const list = json(listRun);
      const listed = list.find((k: { id: string }) => k.id === created.id);
      assert.ok(listed, 'the new admin key is listed');
      assert.equal(listed.name, 'to-revoke');
      assert.equal(listed.revokedAt, null);
      assert.ok(!listRun.stdout.includes(created.secret));
      assert.ok(list.every((k: Record<string, unknown>) => !('secret' in k) && !('hash' in k)));

      const revoked = json(await cli(['admin-keys', 'revoke', created.id, '--json'], storeEnv));
      assert.deepEqual(revoked, { revoked: created.id });

      const after = await h.admin('GET', '/keys', undefined, created.secret);
      assert.equal(after.status, 401);
      assert.equal(after.body.code, 'UNAUTHENTICATED');

      const relisted = json(await cli(['admin-keys', 'list', '--json'], storeEnv));
      assert.equal(typeof relisted.find((k: { id: string }) => k.id === created.id).revokedAt, 'string');

      const again = await cli(['admin-keys', 'revoke', created.id], storeEnv);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /no active admin key/);
    });

    test('admin-keys create with an unknown permission exits 2, names it, and creates nothing', async () => {
      const before = json(await cli(['admin-keys', 'list', '--json'], storeEnv)).length;
      const run = await cli(['admin-keys', 'create', '--name', 'bad', '--permissions', 'keys:read,keys:destroy'], storeEnv);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /unknown permission\(s\): keys:destroy/);
      assert.equal(run.stdout, '');
      assert.equal(json(await cli(['admin-keys', 'list', '--json'], storeEnv)).length, before);
    });

    test('admin-keys create without --name exits 2', async () => {
      const run = await cli(['admin-keys', 'create', '--permissions', 'keys:read'], storeEnv);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /usage: gatehouse admin-keys/);
    });

    test('admin-keys without a pepper exits 1 and names GATEHOUSE_PEPPER', async () => {
      const run = await cli(['admin-keys', 'list'], { GATEHOUSE_DATA_DIR: h.dir });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /GATEHOUSE_PEPPER/);
    });
  });
});

describe('gatehouse migrate', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-migrate-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('migrate --json applies the migrations on a fresh data dir, then none the second time, without a pepper', async () => {
    assert.ok(MIGRATIONS.length >= 1);
    const env = { GATEHOUSE_DATA_DIR: join(dir, 'data') };
    const first = json(await runCli(['migrate', '--json'], env));
    assert.equal(first.migrationsApplied, MIGRATIONS.length);
    assert.equal(first.store, join(dir, 'data', 'gatehouse.db'));

    const second = json(await runCli(['migrate', '--json'], env));
    assert.equal(second.migrationsApplied, 0);
    assert.equal(second.store, first.store);
  });

  test('migrate without --json says how many migrations it applied', async () => {
    const run = await runCli(['migrate'], { GATEHOUSE_DATA_DIR: join(dir, 'text') });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes(`${join(dir, 'text', 'gatehouse.db')}: ${MIGRATIONS.length} migration(s) applied`), run.stdout);
  });
});
