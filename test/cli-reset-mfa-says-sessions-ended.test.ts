import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli.ts';
import { signInConsole, startConsoleHarness } from './support/console.ts';
import type { AuthHarness } from './support/oauth.ts';

/**
 * `gatehouse users reset-mfa` ends every session and grant of the user (a lost or stolen device:
 * nothing signed in with it may outlive it), as `set-password` and `disable` do; those say so, and
 * reset-mfa said only "TOTP and recovery codes removed", so the operator who ran it after a theft
 * could not tell from its answer whether the thief's session was still open.
 */
describe('gatehouse users reset-mfa', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startConsoleHarness();
  });
  after(() => h.close());

  test('says the user’s sessions and grants are revoked, and they are', async () => {
    const env = { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey };
    const user = await h.user({ consoleRole: 'admin' });
    const session = await signInConsole(h, user.username, { secondFactor: true });
    assert.equal((await session.call('GET', '/bff/session')).status, 200);
    const reset = await runCli(['users', 'reset-mfa', user.id], env);
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(reset.stdout, /TOTP and recovery codes removed; their sessions and grants are revoked; a second factor is required/);
    assert.equal((await session.call('GET', '/bff/session')).status, 401, 'the web app session ended');
    assert.deepEqual((await h.admin('GET', `/users/${user.id}/grants`)).body.grants, [], 'no grant left');
    const help = await runCli(['users', 'reset-mfa', '--help'], env);
    assert.match(help.stdout + help.stderr, /ends the user’s sessions and grants/);
  });
});
