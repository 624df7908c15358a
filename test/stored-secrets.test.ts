import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { deriveKey } from '../src/control/authorization/authorization-server.ts';
import {
  asPage,
  authorizationUrl,
  Browser,
  codeFlow,
  insecure,
  PASSWORD,
  REDIRECT,
  signIn,
  startAuthHarness,
  TEST_MASTER_KEY,
  type AuthHarness,
} from './support/oauth.ts';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const SESSION_COOKIE = '_session';
const INTERACTION_COOKIE = '_interaction';

/**
 * Every string an attacker can read from a copy of the database: printable runs of 16 bytes or more in
 * the database file and its write-ahead log (and the token-alphabet runs inside them), plus every text
 * cell of every table and every string (key or value) inside the JSON those cells hold.
 */
function stringsIn(dbFile: string): Set<string> {
  const found = new Set<string>();
  const add = (s: string, min = 8) => {
    if (s.length >= min) found.add(s);
  };
  for (const file of [dbFile, `${dbFile}-wal`]) {
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file).toString('latin1');
    for (const [run] of bytes.matchAll(/[\x20-\x7e]{16,}/g)) {
      add(run);
      for (const [part] of run.matchAll(/[A-Za-z0-9_-]{16,}/g)) add(part);
    }
  }
  const walk = (value: unknown): void => {
    if (typeof value === 'string') add(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) (add(k), walk(v));
  };
  const db = new DatabaseSync(dbFile, { readOnly: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
      .map((r) => String(r.name));
    for (const table of tables) {
      for (const row of db.prepare(`SELECT * FROM "${table}"`).all()) {
        for (const cell of Object.values(row)) {
          if (typeof cell !== 'string') continue;
          add(cell);
          try {
            walk(JSON.parse(cell));
          } catch {
            // Not JSON: the cell itself was added above.
          }
        }
      }
    }
  } finally {
    db.close();
  }
  return found;
}

describe('a copy of the database holds no usable bearer secret', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startAuthHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '100000' });
  });
  after(() => h.close());

  test('no string in the database file works as a refresh token, code, device code, session or interaction cookie, API key or admin key', async () => {
    const orders = await h.api('orders', ['orders:read']);
    const app = await h.admin('POST', '/apps', { name: 'Acme' });
    const apiKey = (await h.admin('POST', '/keys', { appId: app.body.id, access: [{ apiId: orders.id }], scopes: ['orders:read'] })).body.secret as string;
    // Public clients, as in the review: the client id is all an attacker needs beside the token.
    const web = await h.client({
      name: 'Web',
      type: 'public',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['orders:read'],
      apiIds: [orders.id],
      firstParty: true,
    });
    const tv = await h.client({ name: 'TV', type: 'public', grantTypes: [DEVICE_GRANT, 'refresh_token'], scopes: ['orders:read'], apiIds: [orders.id] });
    const user = await h.user();

    // Grant A: signed in, a refresh token never used. Grant B: refreshed once (a used and a live token).
    const browser = new Browser(h.issuer);
    const grantA = await codeFlow(h, browser, web, user.username, { scope: 'openid orders:read' });
    const grantB = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read' });
    const refresh = async (token: string) =>
      oauth.processRefreshTokenResponse(h.as, web.client, await oauth.refreshTokenGrantRequest(h.as, web.client, web.auth, token, insecure));
    await refresh(grantB.refresh_token!);

    // Past the codes' lifetime: a used code presented again would revoke its grant and spoil the test.
    h.clock.advance(61_000);

    // A device the user approved that has not polled yet.
    const started = await oauth.processDeviceAuthorizationResponse(
      h.as,
      tv.client,
      await oauth.deviceAuthorizationRequest(h.as, tv.client, tv.auth, { scope: 'openid orders:read' }, insecure),
    );
    const tvBrowser = new Browser(h.issuer);
    let page = asPage(await tvBrowser.go(started.verification_uri));
    page = asPage(await tvBrowser.submit(page, { user_code: started.user_code }));
    page = asPage(await tvBrowser.submit(page));
    page = asPage(await tvBrowser.submit(page, { username: user.username, password: PASSWORD }, '/login'));
    page = asPage(await tvBrowser.submit(page, {}, '/consent'));
    assert.match(page.html, /Device connected/);

    // A code issued and not yet redeemed (the session of grant A signs the user in; a native client consents).
    const pending = await authorizationUrl(h, web.id, { scope: 'openid orders:read' });
    const code = (await signIn(browser, pending.url, user.username)).searchParams.get('code')!;
    assert.ok(code);

    // A sign-in left at the password page.
    const loginPage = asPage(await new Browser(h.issuer).go((await authorizationUrl(h, web.id, { scope: 'openid orders:read' })).url));
    assert.match(loginPage.html, /name="password"/);

    const dbFile = join(h.dir, 'gatehouse.db');
    const candidates = [...stringsIn(dbFile)];
    const reader = new DatabaseSync(dbFile, { readOnly: true });
    const stored = reader.prepare('SELECT model, COUNT(*) AS n FROM oidc_records GROUP BY model').all();
    reader.close();
    for (const model of ['RefreshToken', 'AuthorizationCode', 'DeviceCode', 'Session', 'Grant', 'Interaction']) {
      assert.ok(
        stored.some((r) => r.model === model),
        `the database holds ${model} records`,
      );
    }

    const token = async (params: Record<string, string>) =>
      (
        await fetch(h.as.token_endpoint!, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(params),
        })
      ).status;
    // The session cookie is signed; the test signs each candidate with the cookie key, so it checks
    // what the store holds and not the signature.
    const cookieKey = deriveKey(Buffer.from(TEST_MASTER_KEY), 'gatehouse cookies v1').export().toString('base64url');
    const signed = (name: string, value: string) => createHmac('sha1', cookieKey).update(`${name}=${value}`).digest('base64url');
    const silentAuth = await authorizationUrl(h, web.id, { scope: 'openid orders:read', prompt: 'none' });
    // A session the provider knows gets past the login check: a native client then needs interaction.
    const sessionWorks = async (value: string) => {
      const res = await fetch(silentAuth.url, {
        redirect: 'manual',
        headers: { cookie: `${SESSION_COOKIE}=${value}; ${SESSION_COOKIE}.sig=${signed(SESSION_COOKIE, value)}` },
      });
      await res.arrayBuffer();
      const location = new URL(res.headers.get('location') ?? '/', h.issuer);
      return location.searchParams.get('error') !== 'login_required';
    };
    const interactionWorks = async (value: string) => {
      const res = await fetch(`${h.issuer}/interaction/${encodeURIComponent(value)}`, {
        headers: { cookie: `${INTERACTION_COOKIE}=${value}; ${INTERACTION_COOKIE}.sig=${signed(INTERACTION_COOKIE, value)}` },
      });
      return res.status === 200 && /name="password"/.test(await res.text());
    };
    const gateway = async (value: string) => (await fetch(`${h.gh.gatewayUrl}/orders/items`, { headers: { 'x-api-key': value } })).status;
    const adminApi = async (value: string) => (await fetch(`${h.gh.controlUrl}/admin/v1/apis`, { headers: { authorization: `Bearer ${value}` } })).status;

    const worked: string[] = [];
    const attempts: [string, (s: string) => Promise<boolean>][] = [
      ['refresh token', async (s) => (await token({ grant_type: 'refresh_token', refresh_token: s, client_id: web.id })) === 200],
      ['device code', async (s) => (await token({ grant_type: DEVICE_GRANT, device_code: s, client_id: tv.id })) === 200],
      // With the real PKCE verifier: the check is on the store, not on PKCE.
      [
        'authorization code',
        async (s) =>
          (await token({ grant_type: 'authorization_code', code: s, redirect_uri: REDIRECT, code_verifier: pending.verifier, client_id: web.id })) === 200,
      ],
      ['session cookie', sessionWorks],
      ['interaction cookie', interactionWorks],
      ['API key', async (s) => (await gateway(s)) === 200],
      ['admin key', async (s) => (await adminApi(s)) === 200],
    ];
    for (const [kind, attempt] of attempts) {
      for (const candidate of candidates) if (await attempt(candidate)) worked.push(`${kind}: ${candidate.slice(0, 60)}`);
    }
    assert.deepEqual(worked, [], `strings from the database file that worked:\n${worked.join('\n')}`);

    // The real secrets were live all along (so the attempts above were not refused for another reason).
    assert.ok((await refresh(grantA.refresh_token!)).access_token, 'the live refresh token still works');
    assert.equal(await token({ grant_type: DEVICE_GRANT, device_code: started.device_code, client_id: tv.id }), 200, 'the approved device code still works');
    assert.equal(
      await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: pending.verifier, client_id: web.id }),
      200,
      'the pending code still works',
    );
    assert.ok(await sessionWorks(browser.cookies.get(SESSION_COOKIE)!), 'the browser’s session is still signed in');
    const interactionId = new URL(loginPage.url).pathname.split('/')[2]!;
    assert.ok(await interactionWorks(interactionId), 'the sign-in page is still open');
    assert.equal(await gateway(apiKey), 200, 'the API key still works');
    assert.equal(await adminApi(h.adminKey), 200, 'the admin key still works');
  });
});
