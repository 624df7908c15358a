import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { asPage, Browser, codeFlow, REDIRECT, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * The store away (another connection holds SQLite's write lock, writes fail after the busy timeout)
 * at oidc-provider's own endpoints: an RFC 6749 §5.2-shaped error, `temporarily_unavailable`
 * (§4.1.2.1), 503 with Retry-After, as the admin API and the web app answer a store outage, not a
 * 500 `server_error`; nothing secret in it, and the same request works once the store is back.
 */
describe('oidc-provider endpoints while the store refuses writes', () => {
  let h: AuthHarness;
  let holder: DatabaseSync;
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };
  before(async () => {
    h = await startAuthHarness({ GATEHOUSE_STORE_BUSY_TIMEOUT_MS: '50' });
    holder = new DatabaseSync(join(h.dir, 'gatehouse.db'), { timeout: 5000 });
    const orders = await h.api('orders', ['orders:read']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    user = await h.user();
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
  const post = async (url: string, form: Record<string, string>) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${web.id}:${web.secret}`).toString('base64')}` },
      body: new URLSearchParams(form).toString(),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const expectUnavailable = (res: Awaited<ReturnType<typeof post>>, secrets: string[]) => {
    assert.equal(res.status, 503, res.text);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.equal(res.body.error, 'temporarily_unavailable', res.text);
    assert.equal(typeof res.body.error_description, 'string');
    for (const secret of secrets) assert.ok(!res.text.includes(secret), 'no secret echoed');
  };

  test('POST /token (refresh) is 503 temporarily_unavailable with Retry-After, and the same refresh works once the store is back', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read' });
    const refresh = () => post(h.as.token_endpoint!, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    const refused = await outage(refresh);
    expectUnavailable(refused, [tokens.refresh_token!, web.secret!]);
    assert.equal(refused.headers.get('cache-control'), 'no-store');
    const after = await refresh();
    assert.equal(after.status, 200, after.text);
  });

  test('POST /token/revocation of a JWT access token (answered by Gatehouse) is 503 with Retry-After (RFC 7009 §2.2.1), then revokes', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read' });
    const revoke = () => post(h.as.revocation_endpoint!, { token: tokens.access_token });
    expectUnavailable(await outage(revoke), [tokens.access_token, web.secret!]);
    assert.equal((await revoke()).status, 200);
  });

  test('POST /device/auth is 503 temporarily_unavailable with Retry-After', async () => {
    const device = await h.client({ name: 'TV', grantTypes: ['urn:ietf:params:oauth:grant-type:device_code'], scopes: [], type: 'public' });
    const res = await outage(() =>
      fetch(h.as.device_authorization_endpoint!, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: device.id, scope: 'openid' }).toString(),
      }),
    );
    const text = await res.text();
    expectUnavailable({ status: res.status, headers: res.headers, text, body: JSON.parse(text) as Record<string, unknown> }, []);
  });

  test('the device code form is a 503 page with Retry-After, and the same code goes through once the store is back', async () => {
    const tv = await h.client({ name: 'TV app', grantTypes: ['urn:ietf:params:oauth:grant-type:device_code'], scopes: [], type: 'public' });
    const res = await fetch(h.as.device_authorization_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: tv.id, scope: 'openid' }).toString(),
    });
    const started = (await res.json()) as { verification_uri: string; user_code: string };
    const browser = new Browser(h.issuer);
    const form = asPage(await browser.go(started.verification_uri));
    const refused = asPage(await outage(() => browser.submit(form, { user_code: started.user_code })));
    assert.equal(refused.status, 503, refused.html.slice(0, 300));
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.match(refused.html, /Try again in a few seconds/);
    const again = asPage(await browser.go(started.verification_uri));
    assert.match(asPage(await browser.submit(again, { user_code: started.user_code })).html, /Confirm the device/);
  });

  test('the authorization endpoint in a browser is a 503 page with Retry-After, not a 500', async () => {
    const url = new URL(h.as.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: web.id,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    }).toString();
    const page = asPage(await outage(() => new Browser(h.issuer).go(url.href)));
    assert.equal(page.status, 503, page.html.slice(0, 300));
    assert.equal(page.headers.get('retry-after'), '5');
    assert.match(page.html, /temporarily_unavailable/);
  });
});
