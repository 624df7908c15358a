import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { runCli } from './support/cli.ts';
import { passSecondFactor, SESSION_COOKIE, signInConsole, startConsoleHarness, type ConsoleBrowser } from './support/console.ts';
import { asPage, asRedirect, authorizationUrl, Browser, clientPost, insecure, PASSWORD, REDIRECT, refreshWith, type AuthHarness } from './support/oauth.ts';

/**
 * Whether a user must pass a second factor follows from the configuration as well as the user
 * (authorization.mfaRequiredRoles, authorization.mfaRequiredConsoleRoles), and the sign-in pages
 * enforce it. A grant or web app session made by a password-only sign-in before the requirement
 * applied (here: an upgrade to the default that admins and operators use MFA, and a role added to
 * mfaRequiredRoles, each a restart on the same store) must not outlive it: a refresh never reaches
 * the sign-in pages, and the web app's session lasted up to its absolute end. Refused at the next
 * use instead (RFC 6749 §5.2 invalid_grant), with the grant revoked; sign-ins that passed a second
 * factor, and users who need none, go on.
 */

type Client = Awaited<ReturnType<AuthHarness['client']>>;

/** The code flow through the real pages with the second factor when the test expects one (and failing when it is asked otherwise): the token response. */
async function signInForTokens(h: AuthHarness, web: Client, username: string, secondFactor: boolean): Promise<oauth.TokenEndpointResponse> {
  const browser = new Browser(h.issuer);
  const { url, state, verifier } = await authorizationUrl(h, web.id, { scope: 'openid' });
  const login = asPage(await browser.go(url));
  const callback = asRedirect(
    await passSecondFactor(h, browser, await browser.submit(login, { username, password: PASSWORD }, '/login'), username, secondFactor),
  );
  const params = oauth.validateAuthResponse(h.as, web.client, callback, state);
  const res = await oauth.authorizationCodeGrantRequest(h.as, web.client, web.auth, params, REDIRECT, verifier, insecure);
  return oauth.processAuthorizationCodeResponse(h.as, web.client, res);
}

/** A request of the web app's session (its cookie) to another node of the same store. */
async function sessionAt(h: AuthHarness, c: ConsoleBrowser): Promise<number> {
  const res = await fetch(`${h.issuer}/bff/session`, { headers: { cookie: `${SESSION_COOKIE}=${c.session}` } });
  await res.arrayBuffer();
  return res.status;
}

describe('a sign-in without a second factor, for a user who must use one since', () => {
  let before1: AuthHarness & { assetsDir: string };
  let now: AuthHarness & { assetsDir: string };
  let web: Client;
  const users: Record<string, { id: string; username: string }> = {};
  const tokens: Record<string, string> = {};
  const consoles: Record<string, ConsoleBrowser> = {};

  before(async () => {
    // Before: admins and operators were not made to use MFA, nor the finance role.
    before1 = await startConsoleHarness({}, 'authorization:\n  mfaRequiredConsoleRoles: []\n');
    web = await before1.client({ name: 'Web', redirectUris: [REDIRECT], firstParty: true });
    users.admin = await before1.user({ consoleRole: 'admin' });
    users.operator = await before1.user({ consoleRole: 'operator' });
    users.finance = await before1.user({ roles: ['finance'], consoleRole: 'auditor' });
    users.flagged = await before1.user({ consoleRole: 'admin', mfaRequired: true });
    users.developer = await before1.user({ consoleRole: 'developer' });
    for (const [name, user] of Object.entries(users)) {
      // Before the requirement, only the user flagged one by one is asked for a second factor.
      tokens[name] = (await signInForTokens(before1, web, user.username, name === 'flagged')).refresh_token!;
      assert.ok(tokens[name], `${name} has a refresh token`);
      consoles[name] = await signInConsole(before1, user.username, {
        secondFactor: name === 'flagged',
        returnTo: name === 'developer' ? '/developers/' : '/console/keys',
      });
    }
    // Now: the same store, restarted with today's default and the finance role added.
    await before1.gh.close();
    now = await startConsoleHarness({ GATEHOUSE_DATA_DIR: before1.dir }, 'authorization:\n  mfaRequiredRoles: [finance]\n');
  });
  after(async () => {
    await now?.close();
    await before1?.close();
  });

  const grantsOf = async (name: string) => (await now.admin('GET', `/users/${users[name]!.id}/grants`)).body.grants as { clientId: string }[];

  test('introspection says such a refresh token is not active (RFC 7662 §2.2), before any use; one that passed a second factor, or needs none, is', async () => {
    const introspect = async (name: string) =>
      (await clientPost(web, now.as.introspection_endpoint!, { token: tokens[name]!, token_type_hint: 'refresh_token' })).body as { active: boolean };
    assert.equal((await introspect('operator')).active, false, 'operator: password only, a second factor now required');
    assert.equal((await introspect('flagged')).active, true, 'passed a second factor');
    assert.equal((await introspect('developer')).active, true, 'needs none');
  });

  for (const name of ['admin', 'finance'] as const) {
    test(`${name}: a refresh is refused (invalid_grant, saying a second factor is now required) and the grant is revoked`, async () => {
      const refused = await refreshWith(now, web, tokens[name]!);
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.body.error, 'invalid_grant');
      assert.match(refused.body.error_description, /second factor is now required/);
      assert.match(refused.body.error_description, /sign in again/);
      assert.deepEqual(
        (await grantsOf(name)).filter((g) => g.clientId === web.id),
        [],
        'the grant is revoked',
      );
      const revoked = (await now.audit('grant.revoked')).filter((a) => a.after?.reason === 'second factor required since the sign-in');
      assert.ok(revoked.length >= 1, 'audited with its reason');
    });
  }

  test('a sign-in that passed a second factor, and a user who needs none, refresh as before', async () => {
    for (const name of ['flagged', 'developer']) {
      const refreshed = await refreshWith(now, web, tokens[name]!);
      assert.equal(refreshed.status, 200, `${name}: ${JSON.stringify(refreshed.body)}`);
    }
  });

  test('the web app: a password-only admin’s session ends at its next request, its grant revoked; the others go on', async () => {
    assert.equal(await sessionAt(now, consoles.admin!), 401, 'ended');
    assert.deepEqual(
      (await grantsOf('admin')).filter((g) => g.clientId !== web.id),
      [],
      'the session’s grant is revoked too',
    );
    assert.equal(await sessionAt(now, consoles.flagged!), 200, 'passed a second factor');
    assert.equal(await sessionAt(now, consoles.developer!), 200, 'needs none');
    assert.equal(await sessionAt(now, consoles.finance!), 401, 'required by a role added in the configuration');
  });

  test('the web app: a session whose access token has expired ends at the refresh', async () => {
    now.clock.advance(16 * 60_000); // past the 15-minute access token, inside the idle timeout
    try {
      assert.equal(await sessionAt(now, consoles.operator!), 401, 'ended');
      assert.deepEqual(
        (await grantsOf('operator')).filter((g) => g.clientId !== web.id),
        [],
        'the session’s grant is revoked (by the refresh refused)',
      );
      assert.equal(await sessionAt(now, consoles.flagged!), 200, 'passed a second factor: refreshed');
      assert.equal(await sessionAt(now, consoles.developer!), 200, 'needs none: refreshed');
    } finally {
      now.clock.advance(-16 * 60_000);
    }
  });

  // As `users update --mfa-required` does (test/sign-in.test.ts): a role or console role that makes a
  // second factor required, given through the admin API or the CLI, signs the user out everywhere at once.
  test('a role or console role given through the admin API or the CLI that requires a second factor ends sessions and grants at once', async () => {
    // Named here: the harness's own names (user1@...) were given to the users made before the restart.
    const named = async (username: string, consoleRole: string) => ({ ...(await now.user({ username, consoleRole })), username });
    const byRole = await named('by-role@example.com', 'auditor');
    const byConsoleRole = await named('by-console-role@example.com', 'developer');
    const signedIn = {
      [byRole.id]: await signInConsole(now, byRole.username, { secondFactor: false }),
      [byConsoleRole.id]: await signInConsole(now, byConsoleRole.username, { secondFactor: false, returnTo: '/developers/' }),
    };
    for (const user of [byRole, byConsoleRole]) await signInForTokens(now, web, user.username, false);
    const patched = await now.admin('PATCH', `/users/${byRole.id}`, { roles: ['staff', 'finance'] });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.mfa.required, true);
    const cli = await runCli(['users', 'set-console-role', byConsoleRole.id, 'operator'], {
      GATEHOUSE_URL: now.gh.controlUrl,
      GATEHOUSE_ADMIN_KEY: now.adminKey,
    });
    assert.equal(cli.code, 0, cli.stderr);
    for (const user of [byRole, byConsoleRole]) {
      assert.deepEqual((await now.admin('GET', `/users/${user.id}/grants`)).body, { grants: [], sessions: [] }, user.username);
      assert.equal(await sessionAt(now, signedIn[user.id]!), 401, `${user.username}: the web app's session ended`);
    }
  });

  test('signing in again with the second factor gives a working grant', async () => {
    const again = await signInForTokens(now, web, users.admin!.username, true);
    const refreshed = await refreshWith(now, web, again.refresh_token!);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
  });
});
