import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { json, runCli } from './support/cli.ts';
import { startAuthHarness, type AuthHarness } from './support/oauth.ts';

describe('gatehouse CLI: users, clients, grants and signing keys', () => {
  let h: AuthHarness;
  let env: Record<string, string>;
  const cli = (args: string[], input = '', extra: Record<string, string> = {}) => runCli(args, { ...env, ...extra }, input);

  before(async () => {
    h = await startAuthHarness();
    env = { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey };
  });
  after(() => h.close());

  test('users create reads the password from stdin, never argv, and the user can be disabled', async () => {
    const user = json(
      await cli(
        ['users', 'create', '--email', 'Ada@Example.com', '--name', 'Ada', '--roles', 'admin,staff', '--mfa-required', '--json'],
        'a long enough password\n',
      ),
    );
    assert.equal(user.username, 'ada@example.com');
    assert.deepEqual(user.roles, ['admin', 'staff']);
    assert.equal(user.mfaRequired, true);
    assert.equal(user.passwordHash, undefined);
    const none = await cli(['users', 'create', '--email', 'bob@example.com']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /password on stdin/);
    const short = await cli(['users', 'create', '--email', 'bob@example.com', '--json'], 'short');
    assert.equal(short.code, 1);
    assert.match(short.stderr, /password/);
    const disabled = await cli(['users', 'disable', user.id]);
    assert.equal(disabled.code, 0);
    assert.match(disabled.stdout, /disabled and signed out everywhere/);
    assert.equal((await h.admin('GET', `/users/${user.id}`)).body.disabled, true);
  });

  test('clients create prints a confidential client’s secret once; rotate-secret replaces it', async () => {
    const api = await h.api('orders', ['orders:read']);
    const run = await cli(['clients', 'create', '--name', 'Sync job', '--grant', 'client_credentials', '--scopes', 'orders:read', '--api', api.id]);
    assert.equal(run.code, 0, run.stderr);
    const secret = /\n(gcs_live_\S+)/.exec(run.stdout)?.[1];
    assert.ok(secret, run.stdout);
    const id = /client (cli_\w+)/.exec(run.stdout)![1]!;
    const rotated = json(await cli(['clients', 'rotate-secret', id, '--json']));
    assert.notEqual(rotated.secret, secret);
    const bad = await cli(['clients', 'create', '--name', 'Broken', '--grant', 'authorization_code', '--json']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /redirect/);
  });

  test('signing-keys rotate --now signs with a new key at once; list shows the schedule', async () => {
    const rotated = json(await cli(['signing-keys', 'rotate', '--alg', 'EdDSA', '--now', '--json']));
    assert.equal(rotated.state, 'active');
    assert.equal(rotated.alg, 'EdDSA');
    const list = await cli(['signing-keys', 'list']);
    assert.match(list.stdout, /unpublished/, 'the replaced key is treated as leaked');
    assert.match(list.stdout, new RegExp(rotated.id));
  });

  test('grants list and revoke-user report a user’s grants and sessions', async () => {
    const user = await h.user();
    const listed = json(await cli(['grants', 'list', '--user', user.id, '--json']));
    assert.deepEqual(listed, { grants: [], sessions: [] });
    const revoked = json(await cli(['grants', 'revoke-user', user.id, '--json']));
    assert.deepEqual(revoked, { grants: 0, sessions: 0 });
    assert.equal((await cli(['grants', 'list'])).code, 2);
  });
});
