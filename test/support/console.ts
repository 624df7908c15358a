import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentTotp } from '../../src/domain/totp.ts';
import { asPage, Browser, PASSWORD, startAuthHarness, type AuthHarness, type Page } from './oauth.ts';

export const SESSION_COOKIE = '__Host-gatehouse-session';

/** A built web app stand-in: an index.html and one hashed script, in a temporary directory (console.assetsDir). */
export function fakeWebBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><html><head><script type="module" src="/assets/app-0a1b2c3d.js"></script></head><body><div id="root"></div></body></html>',
  );
  writeFileSync(join(dir, 'assets', 'app-0a1b2c3d.js'), `console.log(${JSON.stringify('gatehouse '.repeat(200))});\n`);
  return dir;
}

/** The authorization harness with the web app's files in a temporary directory. */
export async function startConsoleHarness(env: Record<string, string> = {}, configYaml?: string): Promise<AuthHarness & { assetsDir: string }> {
  const assetsDir = fakeWebBuild();
  const h = await startAuthHarness({ GATEHOUSE_CONSOLE_ASSETS_DIR: assetsDir, ...env }, configYaml);
  return Object.assign(h, { assetsDir });
}

export interface ConsoleBrowser {
  browser: Browser;
  /** The session cookie's value. */
  session: string;
  csrf: string;
  sessionBody: any;
  /** A request as the web app makes it: the cookie, and for state changes the CSRF token and our Origin. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; body: any }>;
}

/** A TOTP app set up at a user's first sign-in by passSecondFactor: its secret, the last time step it gave, the recovery codes left. */
interface Enrolment {
  secret: string;
  lastStep: number;
  recovery: string[];
}
const enrolments = new WeakMap<AuthHarness, Map<string, Enrolment>>();
/** RFC 6238 §4's time step, as src/domain/totp.ts uses it. */
const TOTP_STEP_MS = 30_000;

/** The setup key on the TOTP enrolment page, without its spaces; null on any other page. */
export const setupKeyOf = (page: Page): string | null => /aria-label="Setup key">([A-Z2-7 ]+)</.exec(page.html)?.[1]!.replace(/ /g, '') ?? null;
/** The recovery codes on the page shown once after enrolment. */
export const recoveryCodesOf = (page: Page): string[] => [...page.html.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((m) => m[1]!);

/** Whether the page after the password asks for a second factor: TOTP enrolment (a setup key) or a code. */
const asksSecondFactor = (result: Page | URL): result is Page => !(result instanceof URL) && (setupKeyOf(result) !== null || /name="code"/.test(result.html));

/**
 * What a person does after the password when the user must use MFA (admins and operators by
 * default): on the first sign-in, sets up TOTP with the setup key shown (a code from the harness's
 * clock) and acknowledges the recovery codes; on later ones, gives a code for a step not used yet
 * (each code works once, RFC 6238 §5.2), or a recovery code when the next step is beyond the window.
 * Strict: `expected` says whether the test expects a second factor to be asked, and the helper fails
 * when one is asked that is not expected (an auditor or developer suddenly asked would otherwise pass
 * unnoticed) or expected and not asked (an admin let in on the password alone). Without one, the page
 * (or redirect) after the password is returned as it is.
 */
export async function passSecondFactor(h: AuthHarness, browser: Browser, result: Page | URL, username: string, expected: boolean): Promise<Page | URL> {
  const asked = asksSecondFactor(result);
  const shown = result instanceof URL ? `a redirect to ${result.href}` : `${new URL(result.url).pathname}: ${result.html.slice(0, 300)}`;
  assert.equal(
    asked,
    expected,
    `${username} is ${asked ? '' : 'not '}asked for a second factor after the password, and the test expects ${expected ? 'one' : 'none'} (${shown})`,
  );
  if (!asked) return result;
  const now = h.clock.read();
  const step = Math.floor(now / TOTP_STEP_MS);
  const secret = setupKeyOf(result);
  if (secret) {
    const codes = asPage(await browser.submit(result, { code: currentTotp(secret, now) }, '/mfa'));
    const recovery = recoveryCodesOf(codes);
    assert.equal(recovery.length, 10, codes.html.slice(0, 600));
    const users = enrolments.get(h) ?? new Map<string, Enrolment>();
    enrolments.set(h, users.set(username, { secret, lastStep: step, recovery }));
    return browser.submit(codes, {}, '/mfa/done');
  }
  const enrolment = enrolments.get(h)?.get(username);
  assert.ok(enrolment, `${username} is asked for a second factor this helper did not set up`);
  const next = Math.max(step, enrolment.lastStep + 1);
  let code: string;
  if (next <= step + 1) {
    code = currentTotp(enrolment.secret, next * TOTP_STEP_MS);
    enrolment.lastStep = next;
  } else {
    code = enrolment.recovery.shift()!;
    assert.ok(code, `${username} has no recovery codes left`);
  }
  return browser.submit(result, { code }, '/mfa');
}

export interface SignInConsoleOptions {
  /**
   * Whether this sign-in must ask for a second factor (passSecondFactor: enrolment the first time, a
   * code later): true for a user who must use MFA (console roles admin and operator by default,
   * authorization.mfaRequiredConsoleRoles; a role in authorization.mfaRequiredRoles; the user's own
   * mfaRequired), false for one who must not be asked. Required: the helper fails either way it is not so.
   */
  secondFactor: boolean;
  password?: string;
  /** Where the web app sends the browser after sign-in: '/console/keys' (staff), '/developers/' (the portal). */
  returnTo?: string;
}

/**
 * Signs in through /bff/login and the real login page, as a browser, with the second factor when the
 * test expects one and failing when it is asked otherwise (options.secondFactor, passSecondFactor);
 * returns the session the web app would hold.
 */
export async function signInConsole(h: AuthHarness, username: string, options: SignInConsoleOptions): Promise<ConsoleBrowser> {
  const { secondFactor, password = PASSWORD, returnTo = '/console/keys' } = options;
  const browser = new Browser(h.issuer);
  const login = asPage(await browser.go(`/bff/login?returnTo=${encodeURIComponent(returnTo)}`));
  assert.match(login.html, /name="password"/);
  const landed = asPage(await passSecondFactor(h, browser, await browser.submit(login, { username, password }, '/login'), username, secondFactor));
  assert.equal(new URL(landed.url).pathname, returnTo, landed.html.slice(0, 300));
  const session = browser.cookies.get(SESSION_COOKIE);
  assert.ok(session, 'the session cookie is set');
  return consoleBrowser(h, browser, session);
}

export async function consoleBrowser(h: AuthHarness, browser: Browser, session: string): Promise<ConsoleBrowser> {
  const origin = new URL(h.issuer).origin;
  const call: ConsoleBrowser['call'] = async (method, path, body, headers = {}) => {
    const res = await fetch(`${origin}${path}`, {
      method,
      headers: {
        cookie: `${SESSION_COOKIE}=${session}`,
        ...(method === 'GET' || method === 'HEAD' ? {} : { origin, 'x-csrf-token': csrf, 'sec-fetch-site': 'same-origin' }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, headers: res.headers, body: parsed };
  };
  let csrf = '';
  const me = await call('GET', '/bff/session');
  assert.equal(me.status, 200, JSON.stringify(me.body));
  csrf = me.body.csrfToken;
  return { browser, session, csrf, sessionBody: me.body, call };
}

/** Sign-up as the portal page does it: JSON from the web app's origin (or `origin`). */
export async function signUp(h: AuthHarness, body: Record<string, unknown>, origin = new URL(h.issuer).origin) {
  const res = await fetch(`${h.issuer}/bff/signup`, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}
