import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { currentTotp } from '../src/domain/totp.ts';
import {
  asRedirect,
  authorizationUrl,
  Browser,
  claimsOf,
  insecure,
  PASSWORD,
  REDIRECT,
  startAuthHarness,
  type AuthHarness,
  type Page,
} from './support/oauth.ts';

/** What the user knows of their second factor: the TOTP secret and the recovery codes, learnt at enrolment. */
interface Totp {
  secret?: string;
  recovery?: string[];
  /** Answer the code prompt with a recovery code (a TOTP code works once per 30 s step). */
  useRecovery?: boolean;
}

interface Asked {
  login: number;
  enrol: number;
  code: number;
  consent: number;
}

/**
 * Answers every page an authorization shows, as a user would, and counts what was asked: the
 * password, TOTP enrolment, a second-factor code, consent. Stops at the client's callback, or after
 * more pages than any sign-in needs.
 */
async function walk(browser: Browser, url: string, username: string, totp: Totp = {}) {
  const asked: Asked = { login: 0, enrol: 0, code: 0, consent: 0 };
  let result: Page | URL = await browser.go(url);
  for (let pages = 0; pages < 10 && !(result instanceof URL); pages++) {
    const page: Page = result;
    if (page.html.includes('name="password"')) {
      asked.login++;
      result = await browser.submit(page, { username, password: PASSWORD }, '/login');
    } else if (page.html.includes('Set up two-step verification')) {
      asked.enrol++;
      totp.secret = /aria-label="Setup key">([A-Z2-7 ]+)</.exec(page.html)![1]!.replace(/ /g, '');
      result = await browser.submit(page, { code: currentTotp(totp.secret, Date.now()) }, '/mfa');
    } else if (page.html.includes('Save your recovery codes')) {
      totp.recovery = [...page.html.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((m) => m[1]!);
      result = await browser.submit(page, {}, '/mfa/done');
    } else if (page.html.includes('Two-step verification')) {
      asked.code++;
      // The next step's TOTP code (never the one spent at enrolment, still within the accepted window), or a recovery code.
      const code = totp.useRecovery ? totp.recovery!.shift()! : currentTotp(totp.secret!, Date.now() + 30_000);
      result = await browser.submit(page, { code }, '/mfa');
    } else if (page.html.includes('/consent"')) {
      asked.consent++;
      result = await browser.submit(page, {}, '/consent');
    } else {
      assert.fail(`unexpected page ${page.url} (${page.status}):\n${page.html.slice(0, 800)}`);
    }
  }
  return { asked, result };
}

describe('prompt=login and max_age=0: one sign-in per authorization, also with consent and a second factor', () => {
  let h: AuthHarness;
  let orders: { id: string; audience: string };
  let partner: Awaited<ReturnType<AuthHarness['client']>>;

  before(async () => {
    h = await startAuthHarness();
    orders = await h.api('orders', ['orders:read']);
    // Not first-party: every new session is asked for consent.
    partner = await h.client({ name: 'Partner', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id] });
  });
  after(() => h.close());

  const request = (params: Record<string, string>) => authorizationUrl(h, partner.id, { scope: 'openid orders:read', resource: orders.audience, ...params });

  /** Exchanges the callback's code and returns the ID token's claims. */
  async function idTokenOf(callback: URL, auth: { verifier: string; state: string }) {
    const validated = oauth.validateAuthResponse(h.as, partner.client, callback, auth.state);
    const res = await oauth.authorizationCodeGrantRequest(h.as, partner.client, partner.auth, validated, REDIRECT, auth.verifier, insecure);
    return claimsOf((await oauth.processAuthorizationCodeResponse(h.as, partner.client, res)).id_token!);
  }

  for (const params of [{ prompt: 'login' }, { max_age: '0' }, { prompt: 'login consent' }] as Record<string, string>[]) {
    const asked = new URLSearchParams(params).toString();
    test(`${asked} for a client that needs consent: one password, one consent, then the callback`, async () => {
      const user = await h.user();
      const auth = await request(params);
      const { asked: counts, result } = await walk(new Browser(h.issuer), auth.url, user.username);
      assert.deepEqual(counts, { login: 1, enrol: 0, code: 0, consent: 1 });
      const claims = await idTokenOf(asRedirect(result), auth);
      assert.equal(claims.sub, user.id);
    });

    test(`${asked} in a browser already signed in: the password once more, never twice`, async () => {
      const user = await h.user();
      const browser = new Browser(h.issuer);
      const first = await walk(browser, (await request({})).url, user.username);
      assert.deepEqual(first.asked, { login: 1, enrol: 0, code: 0, consent: 1 });
      const auth = await request(params);
      const startedAt = Math.floor(Date.now() / 1000);
      const { asked: counts, result } = await walk(browser, auth.url, user.username);
      assert.equal(counts.login, 1, 'prompt=login and max_age=0 do ask for the password again');
      assert.equal(counts.code, 0);
      const claims = await idTokenOf(asRedirect(result), auth);
      assert.ok(claims.auth_time >= startedAt, 'auth_time is the new sign-in');
    });
  }

  test('prompt=login and max_age=0 for a user who must use MFA: enrolment once, then one password and one code per sign-in', async () => {
    const user = await h.user({ mfaRequired: true });
    const totp: Totp = {};
    const enrolling = await walk(new Browser(h.issuer), (await request({ prompt: 'login' })).url, user.username, totp);
    assert.deepEqual(enrolling.asked, { login: 1, enrol: 1, code: 0, consent: 1 });
    asRedirect(enrolling.result);

    for (const params of [{ prompt: 'login' }, { max_age: '0' }] as Record<string, string>[]) {
      totp.useRecovery = 'max_age' in params;
      const auth = await request(params);
      const { asked: counts, result } = await walk(new Browser(h.issuer), auth.url, user.username, totp);
      assert.deepEqual(counts, { login: 1, enrol: 0, code: 1, consent: 1 }, new URLSearchParams(params).toString());
      assert.equal((await idTokenOf(asRedirect(result), auth)).sub, user.id);
      const [login] = (await h.audit('user.login')).filter((e: any) => e.targetId === user.id);
      assert.deepEqual(login.after.amr, ['pwd', 'otp']);
    }
  });
});
