import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asPage, Browser, PASSWORD, startAuthHarness, type AuthHarness } from './oauth.ts';

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

/** Signs in through /bff/login and the real login page, as a browser; returns the session the web app would hold. */
export async function signInConsole(h: AuthHarness, username: string, password = PASSWORD, returnTo = '/console/keys'): Promise<ConsoleBrowser> {
  const browser = new Browser(h.issuer);
  const login = asPage(await browser.go(`/bff/login?returnTo=${encodeURIComponent(returnTo)}`));
  assert.match(login.html, /name="password"/);
  const landed = asPage(await browser.submit(login, { username, password }, '/login'));
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
