import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import QRCode from 'qrcode';
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

const decode = (s: string): string =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The page's Content-Security-Policy, directive by directive. */
function policyOf(page: Page): Map<string, string[]> {
  const header = page.headers.get('content-security-policy');
  assert.ok(header, `${page.url}: no Content-Security-Policy`);
  return new Map(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name!.toLowerCase(), values]),
  );
}

/**
 * What a browser would block, or run, on this page under the policy it was sent with: inline event
 * handlers and `javascript:` URLs never run under a policy without 'unsafe-inline' (and must not be
 * needed); an inline script runs only if its hash or nonce is listed; inline styles likewise.
 */
function assertRunsUnderItsPolicy(page: Page): void {
  const policy = policyOf(page);
  const scriptSrc = policy.get('script-src') ?? policy.get('default-src') ?? [];
  const styleSrc = policy.get('style-src') ?? policy.get('default-src') ?? [];
  assert.ok(!scriptSrc.includes("'unsafe-inline'") && !styleSrc.includes("'unsafe-inline'"), `${page.url}: 'unsafe-inline' in ${policy}`);
  const tags = page.html.match(/<[a-zA-Z][^>]*>/g) ?? [];
  for (const tag of tags) {
    assert.doesNotMatch(tag, /\son[a-z]+\s*=/i, `${page.url}: inline event handler in ${tag}`);
    assert.doesNotMatch(tag, /\sstyle\s*=/i, `${page.url}: inline style attribute in ${tag}`);
    assert.doesNotMatch(tag, /=\s*["']?\s*javascript:/i, `${page.url}: javascript: URL in ${tag}`);
  }
  for (const [, attributes, body] of page.html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    if (/\ssrc\s*=/i.test(attributes!)) {
      assert.ok(scriptSrc.includes("'self'"), `${page.url}: external script under ${scriptSrc.join(' ')}`);
      continue;
    }
    const nonce = /\snonce="([^"]+)"/.exec(attributes!)?.[1];
    const hash = `'sha256-${createHash('sha256').update(body!).digest('base64')}'`;
    assert.ok(
      scriptSrc.includes(hash) || (nonce !== undefined && scriptSrc.includes(`'nonce-${nonce}'`)),
      `${page.url}: inline script not allowed by script-src ${scriptSrc.join(' ')}`,
    );
  }
  for (const [, body] of page.html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/gi)) {
    const hash = `'sha256-${createHash('sha256').update(body!).digest('base64')}'`;
    assert.ok(styleSrc.includes(hash), `${page.url}: inline style element not allowed by style-src ${styleSrc.join(' ')}`);
  }
}

describe('the pages of the authorization server run under their Content-Security-Policy', () => {
  let h: AuthHarness;
  let orders: { id: string; audience: string };
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let partner: Awaited<ReturnType<AuthHarness['client']>>;
  let tv: Awaited<ReturnType<AuthHarness['client']>>;

  before(async () => {
    h = await startAuthHarness();
    orders = await h.api('orders', ['orders:read']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    partner = await h.client({ name: 'Partner', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id] });
    tv = await h.client({
      name: 'TV app',
      type: 'public',
      grantTypes: ['urn:ietf:params:oauth:grant-type:device_code'],
      scopes: ['orders:read'],
      apiIds: [orders.id],
    });
  });
  after(() => h.close());

  /** Every page a user can be shown, each reached through the real server. */
  async function everyPage(): Promise<Record<string, Page>> {
    const pages: Record<string, Page> = {};
    const browser = new Browser(h.issuer);
    // Sign-in with TOTP enrolment, recovery codes, then consent.
    const enrolling = await h.user({ mfaRequired: true });
    pages.login = asPage(await browser.go((await authorizationUrl(h, partner.id)).url));
    pages.loginFailed = asPage(await browser.submit(pages.login, { username: enrolling.username, password: 'not the password' }, '/login'));
    pages.enrol = asPage(await browser.submit(pages.loginFailed, { username: enrolling.username, password: PASSWORD }, '/login'));
    const secret = /aria-label="Setup key">([A-Z2-7 ]+)</.exec(pages.enrol.html)![1]!.replace(/ /g, '');
    pages.enrolFailed = asPage(await browser.submit(pages.enrol, { code: '000000' }, '/mfa'));
    pages.recoveryCodes = asPage(await browser.submit(pages.enrol, { code: currentTotp(secret, Date.now()) }, '/mfa'));
    pages.consent = asPage(await browser.submit(pages.recoveryCodes, {}, '/mfa/done'));
    asRedirect(await browser.submit(pages.consent, {}, '/consent'));
    // The second factor at the next sign-in.
    const second = new Browser(h.issuer);
    const login = asPage(await second.go((await authorizationUrl(h, web.id)).url));
    pages.mfa = asPage(await second.submit(login, { username: enrolling.username, password: PASSWORD }, '/login'));
    pages.mfaFailed = asPage(await second.submit(pages.mfa, { code: 'abc' }, '/mfa'));
    // The device flow: code entry (also a wrong code), confirmation, success.
    const started = await oauth.processDeviceAuthorizationResponse(
      h.as,
      tv.client,
      await oauth.deviceAuthorizationRequest(h.as, tv.client, tv.auth, { scope: 'openid orders:read' }, insecure),
    );
    const device = new Browser(h.issuer);
    pages.deviceInput = asPage(await device.go(started.verification_uri));
    pages.deviceInputFailed = asPage(await device.submit(pages.deviceInput, { user_code: 'BCDF-GHJK' }));
    pages.deviceConfirm = asPage(await device.submit(pages.deviceInputFailed, { user_code: started.user_code }));
    const deviceLogin = asPage(await device.submit(pages.deviceConfirm));
    const deviceUser = await h.user();
    const deviceConsent = asPage(await device.submit(deviceLogin, { username: deviceUser.username, password: PASSWORD }, '/login'));
    pages.deviceSuccess = asPage(await device.submit(deviceConsent, {}, '/consent'));
    // The link with the code in it: oidc-provider's own auto-submitting form.
    pages.deviceComplete = asPage(await new Browser(h.issuer).go(started.verification_uri_complete!));
    // The code form sent after the browser lost its session (expired, or cookies cleared).
    const lost = new Browser(h.issuer);
    const stale = asPage(await lost.go(started.verification_uri));
    lost.cookies.clear();
    pages.deviceInputWithoutSession = asPage(await lost.submit(stale, { user_code: started.user_code }));
    // Sign-out, with a session and (the form oidc-provider submits itself) without one.
    const leaving = new Browser(h.issuer);
    await codeFlow(h, leaving, web, (await h.user()).username);
    pages.logout = asPage(await leaving.go(h.as.end_session_endpoint!));
    pages.loggedOut = asPage(await leaving.submit(pages.logout, { logout: 'yes' }));
    pages.logoutWithoutSession = asPage(await new Browser(h.issuer).go(h.as.end_session_endpoint!));
    // Errors: from oidc-provider, and from the interaction pages.
    pages.error = asPage(await new Browser(h.issuer).go((await authorizationUrl(h, 'no-such-client')).url));
    pages.expired = asPage(await new Browser(h.issuer).go('/interaction/no-such-interaction'));
    const forging = new Browser(h.issuer);
    const forged = asPage(await forging.go((await authorizationUrl(h, web.id)).url));
    pages.forged = asPage(
      await forging.go(/action="([^"]*\/login)"/.exec(forged.html)![1]!, {
        method: 'POST',
        form: { username: 'x@example.com', password: 'x', csrf: 'forged' },
      }),
    );
    return pages;
  }

  test('every page has no inline event handler, script or style that its policy does not allow', async () => {
    const pages = await everyPage();
    for (const [name, page] of Object.entries(pages)) {
      assert.ok(page.html.length > 0, name);
      assertRunsUnderItsPolicy(page);
    }
    // The pages are the ones meant: the device-code field and the enrolment page among them.
    assert.match(pages.deviceInput!.html, /name="user_code"/);
    assert.match(pages.deviceInputFailed!.html, /That code is not right/);
    assert.match(pages.enrol!.html, /Set up two-step verification/);
    assert.match(pages.mfa!.html, /Two-step verification/);
    assert.match(pages.consent!.html, /Allow access\?/);
    assert.match(pages.deviceSuccess!.html, /Device connected/);
    assert.match(pages.loggedOut!.html, /You have signed out/);
    assert.match(pages.error!.html, /Something went wrong/);
    assert.match(pages.logoutWithoutSession!.html, /<script/, 'oidc-provider’s own auto-submitting form, with its script hashed in the policy');
    assert.match(pages.deviceComplete!.html, /<script/, 'oidc-provider’s auto-submitting form for verification_uri_complete');
    assert.match(pages.deviceInputWithoutSession!.html, /Gatehouse/, 'a failure inside oidc-provider still gets a page in our layout');
    assert.equal(pages.forged!.status, 403);
    assert.equal(pages.expired!.status, 400);
  });

  test('the device-code field is labelled and focused without script', async () => {
    const started = await oauth.processDeviceAuthorizationResponse(
      h.as,
      tv.client,
      await oauth.deviceAuthorizationRequest(h.as, tv.client, tv.auth, { scope: 'openid' }, insecure),
    );
    const browser = new Browser(h.issuer);
    const page = asPage(await browser.go(started.verification_uri));
    const field = /<input\b[^>]*name="user_code"[^>]*>/.exec(page.html)?.[0];
    assert.ok(field, page.html);
    assert.match(field, /\sautofocus/);
    assert.doesNotMatch(field, /\son[a-z]+=/);
    const id = /\sid="([^"]+)"/.exec(field)?.[1];
    assert.ok(id && page.html.includes(`<label for="${id}">`), 'the field has a label');
    // A code typed with the wrong case still reaches the confirmation.
    const confirm = asPage(await browser.submit(page, { user_code: started.user_code.toLowerCase() }));
    assert.match(confirm.html, /Confirm the device/);
  });

  test('the TOTP enrolment page shows a server-rendered QR code of the otpauth URI, named for screen readers, and the setup key', async () => {
    const user = await h.user({ mfaRequired: true });
    const browser = new Browser(h.issuer);
    const login = asPage(await browser.go((await authorizationUrl(h, web.id)).url));
    const enrol = asPage(await browser.submit(login, { username: user.username, password: PASSWORD }, '/login'));
    assertRunsUnderItsPolicy(enrol);
    const secret = /aria-label="Setup key">([A-Z2-7 ]+)</.exec(enrol.html)?.[1]?.replace(/ /g, '');
    assert.ok(secret, 'the setup key is shown for manual entry');
    const uri = decode(/href="(otpauth:\/\/totp\/[^"]+)"/.exec(enrol.html)![1]!);
    assert.equal(new URL(uri).searchParams.get('secret'), secret);
    const figure = /<(\w+)[^>]*role="img"[^>]*aria-label="([^"]+)"[^>]*>\s*(<svg[\s\S]*?<\/svg>)/.exec(enrol.html);
    assert.ok(figure, 'an inline SVG with role="img" and a label');
    assert.match(figure[2]!, /QR code/);
    // No QR decoder is installed: the SVG is the one qrcode draws for the very URI the page links.
    const expected = (await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M' })).trim();
    assert.equal(figure[3], expected);
    assert.doesNotMatch(enrol.html, /<img\b/, 'no image to load: the policy allows none from elsewhere');
  });
});
