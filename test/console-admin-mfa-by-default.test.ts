import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { currentTotp } from '../src/domain/totp.ts';
import { json, runCli } from './support/cli.ts';
import { consoleBrowser, recoveryCodesOf, SESSION_COOKIE, setupKeyOf, signInConsole, startConsoleHarness } from './support/console.ts';
import { asPage, Browser, PASSWORD, type AuthHarness, type Page } from './support/oauth.ts';

/**
 * Secure by default: the console roles that issue, revoke and read credentials (admin, operator)
 * must pass a second factor without any setting (authorization.mfaRequiredConsoleRoles); auditors
 * and developers are not forced. Before this default an admin of the whole gateway signed in with a
 * password alone unless an operator thought to flag them.
 */

/** The password step of a web app sign-in: the page the browser is left on, and the browser. */
async function password(h: AuthHarness, username: string): Promise<{ browser: Browser; page: Page }> {
  const browser = new Browser(h.issuer);
  const login = asPage(await browser.go('/bff/login'));
  return { browser, page: asPage(await browser.submit(login, { username, password: PASSWORD }, '/login')) };
}

describe('console admins and operators must pass a second factor by default', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startConsoleHarness();
  });
  after(() => h.close());

  for (const consoleRole of ['admin', 'operator'] as const) {
    test(`a user with console role ${consoleRole} and the right password gets TOTP enrolment, not a session; the session comes after the code`, async () => {
      const user = await h.user({ consoleRole });
      const { browser, page } = await password(h, user.username);
      assert.equal(browser.cookies.get(SESSION_COOKIE), undefined, 'no session after the password alone');
      assert.match(page.html, /Set up two-step verification/);
      assert.deepEqual((await h.admin('GET', `/users/${user.id}/grants`)).body.grants, [], 'nothing granted either');
      const shown = (await h.admin('GET', `/users/${user.id}`)).body;
      assert.equal(shown.mfaRequired, false, 'not flagged one by one');
      assert.deepEqual(shown.mfa, { required: true, enrolled: false, recoveryCodesLeft: 0 }, 'required by the console role');
      const secret = setupKeyOf(page)!;
      const codes = asPage(await browser.submit(page, { code: currentTotp(secret, h.clock.read()) }, '/mfa'));
      assert.equal(recoveryCodesOf(codes).length, 10);
      const landed = asPage(await browser.submit(codes, {}, '/mfa/done'));
      assert.equal(new URL(landed.url).pathname, '/console/');
      const c = await consoleBrowser(h, browser, browser.cookies.get(SESSION_COOKIE)!);
      assert.equal(c.sessionBody.role, consoleRole);
      const [login] = (await h.audit('user.login')).filter((a) => a.targetId === user.id);
      assert.deepEqual(login.after.amr, ['pwd', 'otp']);
    });
  }

  for (const consoleRole of ['auditor', 'developer'] as const) {
    test(`a user with console role ${consoleRole} is not forced: the password alone signs in`, async () => {
      const user = await h.user({ consoleRole });
      const { browser, page } = await password(h, user.username);
      assert.doesNotMatch(page.html, /two-step verification/i);
      assert.ok(browser.cookies.get(SESSION_COOKIE), 'a session after the password');
      const c = await consoleBrowser(h, browser, browser.cookies.get(SESSION_COOKIE)!);
      assert.equal(c.sessionBody.role, consoleRole);
      assert.deepEqual((await h.admin('GET', `/users/${user.id}`)).body.mfa, { required: false, enrolled: false, recoveryCodesLeft: 0 });
    });
  }

  test('a developer made admin (admin API) is shown as required, is signed out, and enrols at the next sign-in', async () => {
    const user = await h.user({ consoleRole: 'developer' });
    const before = await signInConsole(h, user.username, { secondFactor: false, returnTo: '/developers/' });
    const made = await h.admin('PATCH', `/users/${user.id}`, { consoleRole: 'admin' });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    assert.deepEqual(made.body.mfa, { required: true, enrolled: false, recoveryCodesLeft: 0 });
    const listed = (await h.admin('GET', '/users?limit=100')).body.items.find((u: { id: string }) => u.id === user.id);
    assert.equal(listed.mfa.required, true, 'the users list says so too');
    assert.equal((await before.call('GET', '/bff/session')).status, 401, 'the session signed in with a password alone ended');
    const { page } = await password(h, user.username);
    assert.match(page.html, /Set up two-step verification/);
  });

  test('resetting an admin’s second factor means enrolment again at the next sign-in, never the password alone', async () => {
    const user = await h.user({ consoleRole: 'admin' });
    await signInConsole(h, user.username, { secondFactor: true });
    assert.equal((await h.admin('GET', `/users/${user.id}`)).body.mfa.enrolled, true);
    const reset = await h.admin('POST', `/users/${user.id}/mfa/reset`);
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    assert.deepEqual(reset.body.mfa, { required: true, enrolled: false, recoveryCodesLeft: 0 });
    const { browser, page } = await password(h, user.username);
    assert.match(page.html, /Set up two-step verification/);
    assert.equal(browser.cookies.get(SESSION_COOKIE), undefined);
  });

  test('the CLI shows it: users list says "required, not enrolled"; set-console-role and reset-mfa say a second factor comes next', async () => {
    const env = { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey };
    const user = await h.user({ consoleRole: 'auditor' });
    const set = await runCli(['users', 'set-console-role', user.id, 'operator'], env);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /console role operator; a second factor is required: they set up TOTP at their next sign-in/);
    const list = await runCli(['users', 'list', '--limit', '100'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ID\s+USERNAME\s+NAME\s+ROLES\s+CONSOLEROLE\s+MFA\s+/);
    const row = list.stdout.split('\n').find((l) => l.startsWith(user.id))!;
    assert.match(row, /operator\s+required, not enrolled/);
    const shown = json(await runCli(['users', 'show', user.id, '--json'], env));
    assert.deepEqual(shown.mfa, { required: true, enrolled: false, recoveryCodesLeft: 0 });
    const reset = await runCli(['users', 'reset-mfa', user.id], env);
    assert.match(reset.stdout, /TOTP and recovery codes removed; their sessions and grants are revoked; a second factor is required/);
    const developer = await h.user({ consoleRole: 'developer' });
    const flagged = await runCli(['users', 'update', developer.id, '--mfa-required'], env);
    assert.equal(flagged.code, 0, flagged.stderr);
    assert.equal(
      flagged.stdout.trim(),
      `updated user ${developer.id} (${developer.username}); a second factor is required: they set up TOTP at their next sign-in`,
    );
  });
});

describe('authorization.mfaRequiredConsoleRoles', () => {
  test('[] turns it off explicitly: an admin signs in with the password alone (mfaRequired still applies one by one)', async () => {
    const h = await startConsoleHarness({}, 'authorization:\n  mfaRequiredConsoleRoles: []\n');
    try {
      const admin = await h.user({ consoleRole: 'admin' });
      assert.equal((await h.admin('GET', `/users/${admin.id}`)).body.mfa.required, false);
      const { browser, page } = await password(h, admin.username);
      assert.doesNotMatch(page.html, /two-step verification/i);
      assert.ok(browser.cookies.get(SESSION_COOKIE));
      const flagged = await h.user({ consoleRole: 'admin', mfaRequired: true });
      assert.match((await password(h, flagged.username)).page.html, /Set up two-step verification/);
    } finally {
      await h.close();
    }
  });

  test('holds console roles only: a name that is not one is refused at start, naming the setting', () => {
    const config = loadConfig({ env: {}, secretsRequired: false });
    assert.deepEqual(config.authorization.mfaRequiredConsoleRoles, ['admin', 'operator'], 'the default');
    assert.throws(
      () => loadConfig({ env: {}, secretsRequired: false, base: { authorization: { mfaRequiredConsoleRoles: ['admin', 'root'] } } }),
      (error: unknown) => error instanceof ConfigError && /authorization\.mfaRequiredConsoleRoles/.test(error.message),
    );
  });

  test('demo mode’s own [] is under the config file: a file that sets it wins, other settings of the file are kept', () => {
    const demo = { authorization: { mfaRequiredConsoleRoles: [] } };
    assert.deepEqual(loadConfig({ env: {}, secretsRequired: false, base: demo }).authorization.mfaRequiredConsoleRoles, []);
    const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-mfa-')), 'gatehouse.yaml');
    writeFileSync(file, 'authorization:\n  mfaRequiredConsoleRoles: [admin]\n  sessionTtlSeconds: 600\n');
    const config = loadConfig({ file, env: {}, secretsRequired: false, base: demo });
    assert.deepEqual(config.authorization.mfaRequiredConsoleRoles, ['admin']);
    assert.equal(config.authorization.sessionTtlSeconds, 600);
  });
});
