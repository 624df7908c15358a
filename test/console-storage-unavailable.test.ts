import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { expectProblem } from './support/harness.ts';
import { passSecondFactor, signInConsole, startConsoleHarness } from './support/console.ts';
import { asPage, authorizationUrl, Browser, PASSWORD, REDIRECT, type AuthHarness } from './support/oauth.ts';

/**
 * The store away (another connection holds SQLite's write lock, writes fail after the busy timeout)
 * is a moment's outage, not a fault of ours: the web app's own endpoints and the sign-in forms answer
 * it 503 with Retry-After, as the admin and portal APIs do, not 500.
 */
describe('the web app and sign-in pages while the store refuses writes', () => {
  let h: AuthHarness;
  let holder: DatabaseSync;
  before(async () => {
    h = await startConsoleHarness({ GATEHOUSE_STORE_BUSY_TIMEOUT_MS: '50', GATEHOUSE_PORTAL_SIGNUP: 'open' });
    holder = new DatabaseSync(join(h.dir, 'gatehouse.db'), { timeout: 5000 });
  });
  after(async () => {
    if (holder.isOpen) holder.close();
    await h.close();
  });

  const outage = async <T>(during: () => Promise<T>): Promise<T> => {
    holder.exec('BEGIN EXCLUSIVE');
    try {
      return await during();
    } finally {
      holder.exec('ROLLBACK');
    }
  };

  test('POST /bff/signup is 503 STORAGE_UNAVAILABLE with Retry-After, and the same sign-up works once the store is back', async () => {
    const signUp = async () => {
      const res = await fetch(`${h.issuer}/bff/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: new URL(h.issuer).origin },
        body: JSON.stringify({ username: 'outage@dev.example', password: PASSWORD }),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as any };
    };
    const refused = await outage(signUp);
    expectProblem(refused, 503, 'STORAGE_UNAVAILABLE');
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.equal((await signUp()).status, 201);
  });

  test('POST /bff/logout is 503 STORAGE_UNAVAILABLE with Retry-After, and the session stays for a retry', async () => {
    const user = await h.user({ consoleRole: 'operator' });
    const c = await signInConsole(h, user.username, { secondFactor: true });
    const refused = await outage(() => c.call('POST', '/bff/logout'));
    expectProblem(refused, 503, 'STORAGE_UNAVAILABLE');
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.equal((await c.call('GET', '/bff/session')).status, 200);
    assert.equal((await c.call('POST', '/bff/logout')).status, 204);
  });

  test('the web app\'s sign-in callback, when the token endpoint cannot reach the store, is a 503 page with Retry-After, not a 400 "did not complete"', async () => {
    const user = await h.user({ consoleRole: 'operator' });
    const realFetch = globalThis.fetch;
    // The store goes away for the callback only: the code exchange behind it meets the outage.
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      return url.pathname === '/bff/callback' ? outage(() => realFetch(input, init)) : realFetch(input, init);
    }) as typeof fetch;
    try {
      const browser = new Browser(h.issuer);
      const login = asPage(await browser.go('/bff/login'));
      // Operators enrol a second factor first (required by default); the callback comes after it.
      const refused = asPage(
        await passSecondFactor(h, browser, await browser.submit(login, { username: user.username, password: PASSWORD }, '/login'), user.username, true),
      );
      assert.equal(new URL(refused.url).pathname, '/bff/callback');
      assert.equal(refused.status, 503, refused.html.slice(300, 700));
      assert.equal(refused.headers.get('retry-after'), '5');
      assert.match(refused.html, /Try again shortly[\s\S]*\/bff\/login/, 'says to start again in a moment');
    } finally {
      globalThis.fetch = realFetch;
    }
    await signInConsole(h, user.username, { secondFactor: true });
  });

  test('the sign-in form is a 503 page with Retry-After, not a 500', async () => {
    const user = await h.user();
    const client = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: [], firstParty: true });
    const browser = new Browser(h.issuer);
    const { url } = await authorizationUrl(h, client.id);
    const login = asPage(await browser.go(url));
    assert.match(login.html, /name="password"/);
    const refused = asPage(await outage(() => browser.submit(login, { username: user.username, password: PASSWORD }, '/login')));
    assert.equal(refused.status, 503, refused.html.slice(0, 300));
    assert.equal(refused.headers.get('retry-after'), '5');
  });
});
