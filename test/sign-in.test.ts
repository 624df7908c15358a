import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { currentTotp } from '../src/domain/totp.ts';
import {
  asPage,
  asRedirect,
  authorizationUrl,
  Browser,
  codeFlow,
  insecure,
  PASSWORD,
  REDIRECT,
  startAuthHarness,
  type AuthHarness,
  type Page,
} from './support/oauth.ts';

describe('sign-in pages: passwords, throttling, CSRF, TOTP and recovery codes', () => {
  let h: AuthHarness;
  let orders: { id: string; audience: string };
  let web: Awaited<ReturnType<AuthHarness['client']>>;

  before(async () => {
    h = await startAuthHarness({ GATEHOUSE_AUTHORIZATION_LOGIN_ACCOUNT_ADDRESS_FAILURE_LIMIT: '4' });
    orders = await h.api('orders', ['orders:read']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
  });
  after(() => h.close());

  const loginPage = async (browser = new Browser(h.issuer)) => ({ browser, page: asPage(await browser.go((await authorizationUrl(h, web.id)).url)) });
  const attempt = async (username: string, password: string) => {
    const { browser, page } = await loginPage();
    return { browser, result: await browser.submit(page, { username, password }, '/login') };
  };

  test('the login page is branded, has no script, and runs under a strict CSP', async () => {
    const { page } = await loginPage();
    assert.match(page.html, /Gatehouse/);
    assert.match(page.html, /<label for="password">/);
    assert.doesNotMatch(page.html, /<script/i);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const css = await fetch(`${h.issuer}/assets/gatehouse.css`);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
  });

  test('a wrong password and an unknown user get the same answer, and both are audited', async () => {
    const user = await h.user();
    const wrong = asPage((await attempt(user.username, 'not the password at all')).result);
    const unknown = asPage((await attempt('nobody@example.com', 'not the password at all')).result);
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    const message = (p: Page) => /role="alert">([^<]*)</.exec(p.html)?.[1];
    assert.equal(message(wrong), message(unknown));
    assert.doesNotMatch(unknown.html, /not the password/, 'the password is never echoed');
    const failures = await h.audit('user.login_failed');
    assert.ok(failures.some((e: any) => e.targetId === user.id && e.after.reason === 'password'));
    assert.ok(failures.some((e: any) => e.targetId === 'unknown' && e.after.reason === 'unknown_user'));
    assert.ok(!JSON.stringify(failures).includes('not the password'), 'no password in the audit log');
  });

  test('after repeated failures from one address an account is throttled there, known or not, even with the right password', async () => {
    const user = await h.user();
    for (let i = 0; i < 4; i++) await attempt(user.username, 'wrong password!!');
    const throttled = asPage((await attempt(user.username, PASSWORD)).result);
    assert.equal(throttled.status, 429);
    for (let i = 0; i < 4; i++) await attempt('ghost@example.com', 'wrong password!!');
    const ghost = asPage((await attempt('ghost@example.com', PASSWORD)).result);
    assert.equal(ghost.status, 429, 'unknown names are throttled alike, so the answer reveals nothing');
    const other = await h.user();
    asRedirect((await attempt(other.username, PASSWORD)).result);
  });

  test('a form without the page’s CSRF token, or from another origin, is refused and changes nothing', async () => {
    const user = await h.user();
    const { browser, page } = await loginPage();
    const action = /action="([^"]*\/login)"/.exec(page.html)![1]!;
    const forged = asPage(await browser.go(action, { method: 'POST', form: { username: user.username, password: PASSWORD, csrf: 'forged' } }));
    assert.equal(forged.status, 403);
    const csrf = /name="csrf" value="([^"]*)"/.exec(page.html)![1]!;
    const crossSite = asPage(
      await browser.go(action, { method: 'POST', form: { username: user.username, password: PASSWORD, csrf }, headers: { origin: 'https://evil.example' } }),
    );
    assert.equal(crossSite.status, 403);
    assert.equal((await h.admin('GET', `/users/${user.id}`)).body.lastLoginAt, null);
  });

  test('a form larger than a sign-in form can be is refused before it is read (413), and signs nobody in', async () => {
    const user = await h.user();
    const { browser, page } = await loginPage();
    const action = /action="([^"]*\/login)"/.exec(page.html)![1]!;
    const csrf = /name="csrf" value="([^"]*)"/.exec(page.html)![1]!;
    const huge = asPage(
      await browser.go(action, { method: 'POST', form: { username: user.username, password: PASSWORD, csrf, padding: 'x'.repeat(1 << 20) } }),
    );
    assert.equal(huge.status, 413);
    assert.equal((await h.admin('GET', `/users/${user.id}`)).body.lastLoginAt, null);
  });

  test('an interaction id in the URL acts only with the cookie of the browser it belongs to', async () => {
    const victim = await h.user({ mfaRequired: true });
    const { browser, page } = await loginPage();
    const enrol = asPage(await browser.submit(page, { username: victim.username, password: PASSWORD }, '/login'));
    const victimUid = /\/interaction\/([\w-]+)\/mfa/.exec(enrol.url)![1]!;
    const stranger = asPage(await new Browser(h.issuer).go(`/interaction/${victimUid}/mfa`));
    assert.equal(stranger.status, 400, 'no cookie: no setup key');
    assert.doesNotMatch(stranger.html, /Setup key/);
    // An attacker with a sign-in of their own cannot use it on the victim's interaction.
    const attacker = await loginPage();
    const theirs = asPage(await attacker.browser.go(`/interaction/${victimUid}/mfa`));
    assert.equal(theirs.status, 400);
    const posted = asPage(await attacker.browser.go(`/interaction/${victimUid}/mfa`, { method: 'POST', form: { code: '123456', csrf: 'x' } }));
    assert.equal(posted.status, 400);
  });

  test('a session without a second factor is not enough once the user must use MFA', async () => {
    const user = await h.user();
    const browser = new Browser(h.issuer);
    await codeFlow(h, browser, web, user.username);
    // As when a role is added to mfaRequiredRoles in the config: the stored user is unchanged.
    const stored = (await h.gh.ctx.store.users.get(user.id))!;
    await h.gh.ctx.store.users.update(
      { ...stored, mfaRequired: true },
      { actor: 'test', requestId: null, action: 'user.updated', targetType: 'user', targetId: user.id, before: null, after: null },
    );
    const { page } = await loginPage(browser);
    assert.match(page.html, /name="password"/, 'signed in again, then asked to enrol');
    const next = asPage(await browser.submit(page, { username: user.username, password: PASSWORD }, '/login'));
    assert.match(next.html, /Set up two-step verification/);
  });

  test('making MFA required through the admin API ends the user’s sessions and grants', async () => {
    const user = await h.user();
    await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    assert.equal((await h.admin('GET', `/users/${user.id}/grants`)).body.sessions.length, 1);
    await h.admin('PATCH', `/users/${user.id}`, { mfaRequired: true });
    assert.deepEqual((await h.admin('GET', `/users/${user.id}/grants`)).body, { grants: [], sessions: [] });
  });

  test('a user who must use MFA enrols a TOTP app at sign-in, then signs in with codes and recovery codes once each', async () => {
    const user = await h.user({ mfaRequired: true });
    const { browser, page } = await loginPage();
    const enrol = asPage(await browser.submit(page, { username: user.username, password: PASSWORD }, '/login'));
    assert.match(enrol.html, /Set up two-step verification/);
    const secret = /aria-label="Setup key">([A-Z2-7 ]+)</.exec(enrol.html)![1]!.replace(/ /g, '');
    assert.match(enrol.html, /otpauth:\/\/totp\//);
    assert.equal(asPage(await browser.submit(enrol, { code: '000000' }, '/mfa')).status, 401);
    const enrolCode = currentTotp(secret, Date.now());
    const codes = asPage(await browser.submit(enrol, { code: enrolCode }, '/mfa'));
    const recovery = [...codes.html.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((m) => m[1]!);
    assert.equal(recovery.length, 10);
    asRedirect(await browser.submit(codes, {}, '/mfa/done'));
    const view = (await h.admin('GET', `/users/${user.id}`)).body;
    assert.deepEqual(view.mfa, { required: true, enrolled: true, recoveryCodesLeft: 10 });
    assert.ok(!JSON.stringify(view).includes(secret), 'the admin API never shows the TOTP secret');

    // Next sign-in, in a new browser: password, then the second factor.
    const second = await loginPage();
    const challenge = asPage(await second.browser.submit(second.page, { username: user.username, password: PASSWORD }, '/login'));
    assert.match(challenge.html, /Two-step verification/);
    // The very code used at enrolment (not the current one: a 30 s step may have passed meanwhile).
    const sameCode = await second.browser.submit(challenge, { code: enrolCode }, '/mfa');
    assert.equal(asPage(sameCode).status, 401, 'the code used at enrolment cannot be replayed');
    asRedirect(await second.browser.submit(challenge, { code: recovery[0]! }, '/mfa'));

    const third = await loginPage();
    const again = asPage(await third.browser.submit(third.page, { username: user.username, password: PASSWORD }, '/login'));
    assert.equal(asPage(await third.browser.submit(again, { code: recovery[0]! }, '/mfa')).status, 401, 'a recovery code works once');
    asRedirect(await third.browser.submit(again, { code: recovery[1]!.toUpperCase() }, '/mfa'));
    assert.equal((await h.admin('GET', `/users/${user.id}`)).body.mfa.recoveryCodesLeft, 8);
    const [login] = await h.audit('user.login');
    assert.deepEqual(login.after.amr, ['pwd', 'otp']);
    assert.equal((await h.audit('user.mfa_enrolled'))[0].targetId, user.id);

    // One recovery code submitted twice at once, from two sign-ins: exactly one is let in.
    const [x, y] = [await loginPage(), await loginPage()];
    const [px, py] = [
      asPage(await x.browser.submit(x.page, { username: user.username, password: PASSWORD }, '/login')),
      asPage(await y.browser.submit(y.page, { username: user.username, password: PASSWORD }, '/login')),
    ];
    const raced = await Promise.all([x.browser.submit(px, { code: recovery[2]! }, '/mfa'), y.browser.submit(py, { code: recovery[2]! }, '/mfa')]);
    assert.equal(raced.filter((r) => r instanceof URL).length, 1, 'a single-use code works once, even when raced');
    assert.equal((await h.admin('GET', `/users/${user.id}`)).body.mfa.recoveryCodesLeft, 7);

    const reset = await h.admin('POST', `/users/${user.id}/mfa/reset`);
    assert.deepEqual(reset.body.mfa, { required: true, enrolled: false, recoveryCodesLeft: 0 });
  });

  test('disabling a user signs them out everywhere: refresh fails and new sign-ins are refused', async () => {
    const user = await h.user();
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    const grants = await h.admin('GET', `/users/${user.id}/grants`);
    assert.equal(grants.body.grants.length, 1);
    assert.equal(grants.body.sessions.length, 1);
    assert.equal((await h.admin('PATCH', `/users/${user.id}`, { disabled: true })).status, 200);
    const refresh = await oauth.refreshTokenGrantRequest(h.as, web.client, web.auth, tokens.refresh_token!, insecure);
    await assert.rejects(oauth.processRefreshTokenResponse(h.as, web.client, refresh), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant');
    const after = await h.admin('GET', `/users/${user.id}/grants`);
    assert.deepEqual(after.body, { grants: [], sessions: [] });
    assert.equal(asPage((await attempt(user.username, PASSWORD)).result).status, 401);
  });

  test('resetting a user’s second factor (a lost or stolen device) signs them out everywhere: refresh fails, and they enrol again at sign-in', async () => {
    const user = await h.user();
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    assert.equal((await h.admin('GET', `/users/${user.id}/grants`)).body.grants.length, 1);
    assert.equal((await h.admin('POST', `/users/${user.id}/mfa/reset`)).status, 200);
    const refresh = await oauth.refreshTokenGrantRequest(h.as, web.client, web.auth, tokens.refresh_token!, insecure);
    await assert.rejects(oauth.processRefreshTokenResponse(h.as, web.client, refresh), (e: oauth.ResponseBodyError) => e.error === 'invalid_grant');
    assert.deepEqual((await h.admin('GET', `/users/${user.id}/grants`)).body, { grants: [], sessions: [] });
  });

  test('the logout page is served in the same layout and ends the session', async () => {
    const user = await h.user();
    const browser = new Browser(h.issuer);
    await codeFlow(h, browser, web, user.username);
    const page = asPage(await browser.go(h.as.end_session_endpoint!));
    assert.match(page.html, /Sign out/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const done = asPage(await browser.submit(page, { logout: 'yes' }));
    assert.match(done.html, /You have signed out/);
    const { page: login } = await loginPage(browser);
    assert.match(login.html, /name="password"/, 'signed out: the next authorization asks for the password');
  });
});

/** A login page in a browser connecting from `from` (a loopback address); `prompt=login` asks again despite a session. */
async function openLogin(h: AuthHarness, clientId: string, browser: Browser, params: Record<string, string> = {}) {
  return asPage(await browser.go((await authorizationUrl(h, clientId, params)).url));
}

/** Submits `passwords` one after another on the same page (each failure shows the form again); returns the statuses and the last result. */
async function tryPasswords(browser: Browser, page: Page, username: string, passwords: string[]) {
  const statuses: number[] = [];
  let result: Page | URL = page;
  for (const password of passwords) {
    result = await browser.submit(asPage(result), { username, password }, '/login');
    statuses.push(result instanceof URL ? 302 : result.status);
  }
  return { statuses, result };
}

const wrong = (n: number) => Array.from({ length: n }, (_, i) => `wrong password ${i}`);
const DEVICE_COOKIE = 'gatehouse_device';

describe('sign-in throttling: a stranger cannot lock the owner out', () => {
  let h: AuthHarness;
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  before(async () => {
    h = await startAuthHarness();
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: [], firstParty: true });
  });
  after(() => h.close());

  test('five wrong passwords from one address do not stop the owner signing in from another', async () => {
    const owner = await h.user();
    const stranger = new Browser(h.issuer, '127.0.0.2');
    const { statuses } = await tryPasswords(stranger, await openLogin(h, web.id, stranger), owner.username, wrong(5));
    assert.deepEqual(statuses, [401, 401, 401, 401, 401]);
    const browser = new Browser(h.issuer, '127.0.0.3');
    asRedirect((await tryPasswords(browser, await openLogin(h, web.id, browser), owner.username, [PASSWORD])).result);
  });

  test('the same account from the same address waits after five failures, even with the right password; others there do not', async () => {
    const owner = await h.user();
    const neighbour = await h.user();
    const stranger = new Browser(h.issuer, '127.0.0.4');
    const { statuses, result } = await tryPasswords(stranger, await openLogin(h, web.id, stranger), owner.username, [...wrong(5), PASSWORD]);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    assert.ok(Number(asPage(result).headers.get('retry-after')) > 0, 'the wait is announced');
    const message = (p: Page) => /role="alert">([^<]*)</.exec(p.html)?.[1];
    const ghost = await tryPasswords(stranger, await openLogin(h, web.id, stranger), 'ghost@example.com', [...wrong(5), PASSWORD]);
    assert.deepEqual(ghost.statuses, [401, 401, 401, 401, 401, 429], 'unknown names are throttled alike');
    assert.equal(message(asPage(ghost.result)), message(asPage(result)), 'one message, known account or not');
    const throttled = await h.audit('user.login_throttled');
    assert.ok(throttled.length >= 2, 'throttled attempts are audited');
    const elsewhere = new Browser(h.issuer, '127.0.0.4');
    asRedirect((await tryPasswords(elsewhere, await openLogin(h, web.id, elsewhere), neighbour.username, [PASSWORD])).result);
  });

  test('one address guessing across accounts waits after twenty failures', async () => {
    const owner = await h.user();
    const sprayer = new Browser(h.issuer, '127.0.0.5');
    let page = await openLogin(h, web.id, sprayer);
    for (let i = 0; i < 20; i++) {
      const { statuses, result } = await tryPasswords(sprayer, page, `sprayed${i}@example.com`, ['Summer2026!']);
      assert.equal(statuses[0], 401);
      page = asPage(result);
    }
    assert.equal((await tryPasswords(sprayer, page, owner.username, [PASSWORD])).statuses[0], 429);
    const browser = new Browser(h.issuer, '127.0.0.6');
    asRedirect((await tryPasswords(browser, await openLogin(h, web.id, browser), owner.username, [PASSWORD])).result);
  });
});

describe('sign-in throttling: browsers that signed in before (device cookies)', () => {
  let h: AuthHarness;
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  before(async () => {
    h = await startAuthHarness({ GATEHOUSE_AUTHORIZATION_LOGIN_ACCOUNT_FAILURE_LIMIT: '20' });
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: [], firstParty: true });
  });
  after(() => h.close());

  test('after a sign-in the browser holds a signed, HttpOnly, SameSite=Lax device cookie limited to the sign-in pages', async () => {
    const owner = await h.user();
    const browser = new Browser(h.issuer, '127.0.1.1');
    asRedirect((await tryPasswords(browser, await openLogin(h, web.id, browser), owner.username, [PASSWORD])).result);
    const line = browser.setCookies.find((l) => l.startsWith(`${DEVICE_COOKIE}=`));
    assert.ok(line, 'a device cookie is set');
    assert.match(line, /HttpOnly/i);
    assert.match(line, /SameSite=Lax/i);
    assert.match(line, /Path=\/interaction(;|$)/i);
    assert.match(line, /Max-Age=7776000/i, '90 days');
    assert.doesNotMatch(line, /Secure/i, 'not over a plain-HTTP issuer');
    assert.ok(!line.includes(owner.username), 'the cookie does not carry the user name');
  });

  test('a browser that signed in before still signs in after strangers reach the account-wide bar; untrusted browsers wait', async () => {
    const owner = await h.user();
    const trusted = new Browser(h.issuer, '127.0.2.1');
    asRedirect((await tryPasswords(trusted, await openLogin(h, web.id, trusted), owner.username, [PASSWORD])).result);
    // Four strangers, five failures each: every (account, address) pair at its limit, the account at its bar of 20.
    for (const address of ['127.0.3.1', '127.0.3.2', '127.0.3.3', '127.0.3.4']) {
      const stranger = new Browser(h.issuer, address);
      assert.deepEqual((await tryPasswords(stranger, await openLogin(h, web.id, stranger), owner.username, wrong(5))).statuses, [401, 401, 401, 401, 401]);
    }
    const untrusted = new Browser(h.issuer, '127.0.3.5');
    assert.equal(
      (await tryPasswords(untrusted, await openLogin(h, web.id, untrusted), owner.username, [PASSWORD])).statuses[0],
      429,
      'the account is slowed for browsers it does not know',
    );
    asRedirect((await tryPasswords(trusted, await openLogin(h, web.id, trusted, { prompt: 'login' }), owner.username, [PASSWORD])).result);
    // The same browser on another network: the cookie, not the address, is what is trusted.
    const travelling = new Browser(h.issuer, '127.0.3.1');
    travelling.cookies.set(DEVICE_COOKIE, trusted.cookies.get(DEVICE_COOKIE)!);
    asRedirect((await tryPasswords(travelling, await openLogin(h, web.id, travelling), owner.username, [PASSWORD])).result);
  });

  test('a device cookie is trusted only for its own account', async () => {
    const owner = await h.user();
    const other = await h.user();
    const browser = new Browser(h.issuer, '127.0.4.1');
    asRedirect((await tryPasswords(browser, await openLogin(h, web.id, browser), owner.username, [PASSWORD])).result);
    const { statuses } = await tryPasswords(browser, await openLogin(h, web.id, browser, { prompt: 'login' }), other.username, [...wrong(5), PASSWORD]);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429], 'failures for another account count as any browser’s');
  });

  test('a device cookie’s own failures invalidate it: then its failures count like any browser’s', async () => {
    const owner = await h.user();
    const browser = new Browser(h.issuer, '127.0.5.1');
    asRedirect((await tryPasswords(browser, await openLogin(h, web.id, browser), owner.username, [PASSWORD])).result);
    const stolen = browser.cookies.get(DEVICE_COOKIE)!;
    const thief = new Browser(h.issuer, '127.0.5.2');
    thief.cookies.set(DEVICE_COOKIE, stolen);
    const page = await openLogin(h, web.id, thief);
    const first = await tryPasswords(thief, page, owner.username, wrong(10));
    assert.deepEqual(first.statuses, Array(10).fill(401), 'failures with a valid device cookie count only against that cookie');
    assert.equal(thief.cookies.get(DEVICE_COOKIE), undefined, 'the browser is told to drop the spent cookie');
    thief.cookies.set(DEVICE_COOKIE, stolen);
    const later = await tryPasswords(thief, asPage(first.result), owner.username, [...wrong(5), PASSWORD]);
    assert.deepEqual(later.statuses, [401, 401, 401, 401, 401, 429], 'the spent cookie is untrusted: the (account, address) limit applies');
    // The owner signs in again from their own address and gets a fresh cookie.
    asRedirect((await tryPasswords(browser, await openLogin(h, web.id, browser, { prompt: 'login' }), owner.username, [PASSWORD])).result);
    assert.notEqual(browser.cookies.get(DEVICE_COOKIE), stolen);
  });
});
