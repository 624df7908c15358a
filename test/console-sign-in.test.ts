import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { currentTotp } from '../src/domain/totp.ts';
import { consolePermissions } from '../src/domain/console-roles.ts';
import { expectProblem } from './support/harness.ts';
import { consoleBrowser, SESSION_COOKIE, signInConsole, startConsoleHarness } from './support/console.ts';
import { asPage, Browser, PASSWORD, type AuthHarness } from './support/oauth.ts';

/**
 * A JWT in the clear: a header and payload that both start as base64url JSON. ("eyJ" alone turns up in
 * random ciphertext or CSRF tokens about once in a hundred runs.)
 */
const JWT = /eyJ[\w-]*\.eyJ/;

describe('web app sign-in (BFF): code flow with PKCE against our own issuer, one __Host- session cookie', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startConsoleHarness();
  });
  after(() => h.close());

  test('signing in sets one HttpOnly, Secure, SameSite=Strict __Host- cookie and /bff/session answers the user, role, permissions and CSRF token', async () => {
    const user = await h.user({ consoleRole: 'operator', name: 'Olivia Operator' });
    const c = await signInConsole(h, user.username, { secondFactor: true });
    const line = c.browser.setCookies.find((l) => l.startsWith(`${SESSION_COOKIE}=`))!;
    assert.match(line, /; HttpOnly/);
    assert.match(line, /; Secure/);
    assert.match(line, /; SameSite=Strict/);
    assert.match(line, /; Path=\//);
    assert.doesNotMatch(line, /Domain=/i, '__Host- cookies carry no Domain');
    assert.equal(c.session.length, 43, '256 random bits');
    assert.deepEqual(Object.keys(c.sessionBody).sort(), ['csrfToken', 'expiresAt', 'permissions', 'role', 'user']);
    assert.deepEqual(c.sessionBody.user, { id: user.id, name: user.username, displayName: 'Olivia Operator' });
    assert.equal(c.sessionBody.role, 'operator');
    assert.deepEqual(c.sessionBody.permissions, consolePermissions('operator'));
    assert.ok(Date.parse(c.sessionBody.expiresAt) > Date.now());
    // Tokens stay on the server: no cookie but the session's, no JWT in any answer the browser saw.
    assert.deepEqual(
      [...c.browser.cookies.keys()].filter((k) => k.startsWith('__Host-gatehouse')),
      [SESSION_COOKIE],
    );
    assert.doesNotMatch(JSON.stringify(c.sessionBody), JWT);
    // The store keeps neither the session id nor a token in the clear.
    const rows = await h.gh.ctx.store.consoleSessions.listForUser(user.id, h.clock.read());
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0]!.idHash, c.session);
    assert.doesNotMatch(rows[0]!.sealedTokens, JWT);
    const [audit] = await h.audit('user.console_signed_in');
    assert.equal(audit.actor, `user:${user.id}`);
    assert.equal(audit.actorName, user.username);
  });

  test('without a session, /bff/session is 401 SESSION_REQUIRED; a made-up cookie is no session', async () => {
    const none = await fetch(`${h.issuer}/bff/session`);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { code: string }).code, 'SESSION_REQUIRED');
    const forged = await fetch(`${h.issuer}/bff/session`, { headers: { cookie: `${SESSION_COOKIE}=${'A'.repeat(43)}` } });
    assert.equal(forged.status, 401);
  });

  test('MFA applies: a user who must use a second factor enrols at sign-in before any session exists', async () => {
    const user = await h.user({ consoleRole: 'admin', mfaRequired: true });
    const browser = new Browser(h.issuer);
    const login = asPage(await browser.go('/bff/login'));
    const enrol = asPage(await browser.submit(login, { username: user.username, password: PASSWORD }, '/login'));
    assert.match(enrol.html, /Set up two-step verification/);
    assert.equal(browser.cookies.get(SESSION_COOKIE), undefined, 'no session after the password alone');
    const secret = /aria-label="Setup key">([A-Z2-7 ]+)</.exec(enrol.html)![1]!.replace(/ /g, '');
    const codes = asPage(await browser.submit(enrol, { code: currentTotp(secret, Date.now()) }, '/mfa'));
    const landed = asPage(await browser.submit(codes, {}, '/mfa/done'));
    assert.equal(new URL(landed.url).pathname, '/console/');
    const c = await consoleBrowser(h, browser, browser.cookies.get(SESSION_COOKIE)!);
    assert.equal(c.sessionBody.role, 'admin');
  });

  test('a user without a console role signs in at the authorization server but gets no session, and their grant is revoked', async () => {
    const user = await h.user();
    const browser = new Browser(h.issuer);
    const login = asPage(await browser.go('/bff/login'));
    const refused = asPage(await browser.submit(login, { username: user.username, password: PASSWORD }, '/login'));
    assert.equal(refused.status, 403);
    assert.match(refused.html, /no access to the web app/);
    assert.equal(browser.cookies.get(SESSION_COOKIE), undefined);
    assert.deepEqual((await h.admin('GET', `/users/${user.id}/grants`)).body.grants, []);
  });

  test('returnTo outside the web app is ignored; the callback without its sign-in cookie starts nothing', async () => {
    const user = await h.user({ consoleRole: 'developer' });
    const browser = new Browser(h.issuer);
    const login = asPage(await browser.go('/bff/login?returnTo=https://evil.example/'));
    const landed = asPage(await browser.submit(login, { username: user.username, password: PASSWORD }, '/login'));
    assert.equal(new URL(landed.url).pathname, '/developers/', 'a developer lands on the portal');
    const stray = await fetch(`${h.issuer}/bff/callback?code=x&state=y`, { redirect: 'manual' });
    assert.equal(stray.status, 400);
    assert.equal(
      stray.headers.getSetCookie().some((l) => l.startsWith(`${SESSION_COOKIE}=`) && !l.includes('Max-Age=0')),
      false,
    );
  });

  test('an expired access token is refreshed server-side with the rotating refresh token; the session goes on', async () => {
    const user = await h.user({ consoleRole: 'auditor' });
    const c = await signInConsole(h, user.username, { secondFactor: false });
    const [before] = await h.gh.ctx.store.consoleSessions.listForUser(user.id, h.clock.read());
    h.clock.advance(16 * 60_000); // past the 15-minute access token, inside the 30-minute idle timeout
    try {
      assert.equal((await c.call('GET', '/admin/v1/apis')).status, 200);
      const [afterRefresh] = await h.gh.ctx.store.consoleSessions.listForUser(user.id, h.clock.read());
      assert.notEqual(afterRefresh!.sealedTokens, before!.sealedTokens);
      assert.ok(afterRefresh!.accessExpiresAt > h.clock.read());
      // The rotated refresh token was used once: the grant stands.
      assert.equal((await h.admin('GET', `/users/${user.id}/grants`)).body.grants.length, 1);
    } finally {
      h.clock.advance(-16 * 60_000);
    }
  });

  test('a session unused past the idle timeout is 401 SESSION_REQUIRED on every API', async () => {
    const user = await h.user({ consoleRole: 'operator' });
    const c = await signInConsole(h, user.username, { secondFactor: true });
    h.clock.advance(31 * 60_000);
    try {
      expectProblem(await c.call('GET', '/admin/v1/apis'), 401, 'SESSION_REQUIRED');
      expectProblem(await c.call('POST', '/admin/v1/apps', { name: 'late' }), 401, 'SESSION_REQUIRED');
      assert.equal((await c.call('GET', '/bff/session')).body.code, 'SESSION_REQUIRED');
    } finally {
      h.clock.advance(-31 * 60_000);
    }
  });

  test('sign-out ends the session server-side, revokes its grant and clears the cookie; it needs the CSRF token', async () => {
    const user = await h.user({ consoleRole: 'operator' });
    const c = await signInConsole(h, user.username, { secondFactor: true });
    assert.equal((await h.admin('GET', `/users/${user.id}/grants`)).body.grants.length, 1);
    expectProblem(await c.call('POST', '/bff/logout', undefined, { 'x-csrf-token': 'wrong' }), 403, 'CSRF_REJECTED');
    assert.equal((await c.call('GET', '/bff/session')).status, 200, 'a refused sign-out ends nothing');
    const out = await c.call('POST', '/bff/logout');
    assert.equal(out.status, 204);
    assert.match(out.headers.getSetCookie().join('\n'), new RegExp(`${SESSION_COOKIE}=; Path=/; Max-Age=0`));
    assert.equal((await c.call('GET', '/bff/session')).status, 401);
    assert.deepEqual((await h.admin('GET', `/users/${user.id}/grants`)).body.grants, []);
    assert.equal((await h.audit('user.console_signed_out'))[0].actor, `user:${user.id}`);
  });

  test('revoking the grant a web app session holds (DELETE /grants/{id}) ends that session at once, not at its next refresh', async () => {
    const user = await h.user({ consoleRole: 'operator' });
    const a = await signInConsole(h, user.username, { secondFactor: true });
    const [grantOfA] = (await h.admin('GET', `/users/${user.id}/grants`)).body.grants;
    const b = await signInConsole(h, user.username, { secondFactor: true });
    assert.equal((await h.admin('GET', `/users/${user.id}/grants`)).body.grants.length, 2, 'each sign-in holds its own grant');
    assert.equal((await h.admin('DELETE', `/grants/${grantOfA.id}`)).status, 204);
    expectProblem(await a.call('GET', '/admin/v1/apis'), 401, 'SESSION_REQUIRED');
    assert.equal((await a.call('GET', '/bff/session')).status, 401);
    assert.equal((await b.call('GET', '/admin/v1/apis')).status, 200, 'the session of another grant goes on');
  });

  test('signing a user out everywhere, disabling them or taking their role away ends their web app sessions', async () => {
    const user = await h.user({ consoleRole: 'operator' });
    const a = await signInConsole(h, user.username, { secondFactor: true });
    await h.admin('POST', `/users/${user.id}/grants/revoke`);
    assert.equal((await a.call('GET', '/bff/session')).status, 401);
    const b = await signInConsole(h, user.username, { secondFactor: true });
    await h.admin('PATCH', `/users/${user.id}`, { consoleRole: null });
    assert.equal((await b.call('GET', '/admin/v1/apis')).status, 401);
    await h.admin('PATCH', `/users/${user.id}`, { consoleRole: 'operator' });
    const c = await signInConsole(h, user.username, { secondFactor: true });
    await h.admin('PATCH', `/users/${user.id}`, { disabled: true });
    assert.equal((await c.call('GET', '/bff/session')).status, 401);
  });
});
