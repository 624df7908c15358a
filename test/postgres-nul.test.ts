import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startPostgres, type PrivatePostgres } from './support/postgres.ts';
import { call, seed, type Seeded } from './support/harness.ts';
import { asPage, authorizationUrl, Browser, REDIRECT, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * PostgreSQL's text and jsonb cannot hold U+0000, which a client can send: percent-encoded in a path
 * or query, or as `\u0000` in JSON. Wherever it can arrive, it is refused as bad input or kept
 * encoded, never handed to the store, where it failed the write (a 500, or a request-log batch
 * retried forever while every later record waited behind it).
 */
describe('a NUL from a client on the PostgreSQL store', () => {
  let pg: PrivatePostgres;
  let h: AuthHarness;
  let ids: Seeded;

  before(async () => {
    pg = await startPostgres();
    await pg.createDatabase('nul');
    h = await startAuthHarness({
      GATEHOUSE_STORE_DRIVER: 'postgres',
      GATEHOUSE_STORE_URL: pg.urlWithoutPassword('nul'),
      GATEHOUSE_STORE_PASSWORD: pg.password,
    });
    ids = await seed(h);
  });
  after(async () => {
    await h?.close();
    await pg?.stop();
  });

  test('a request whose path hides a NUL is logged without it, and the records after it are written', async () => {
    const hidden = await fetch(`${h.gh.gatewayUrl}/orders/gk_live_3Fq9AAAAAAAAAAAAAAAAAAAA%00%1b[31m`);
    assert.equal(hidden.status, 400);
    await hidden.arrayBuffer();
    assert.equal((await call(h, '/orders/after-the-nul', { key: ids.secret })).status, 200);
    await h.gh.requestLog!.flush();
    const paths = ((await h.admin('GET', '/requests?limit=1000')).body.items as { path: string }[]).map((r) => r.path);
    assert.ok(paths.includes('/orders/after-the-nul'), 'the record after the NUL was written');
    assert.ok(paths.includes('/orders/REDACTED%00%1b[31m'), `the control characters stay percent-encoded: ${JSON.stringify(paths)}`);
  });

  test('an admin write, query or path with a NUL is refused as invalid, naming the field, not failed as a storage error', async () => {
    const cases: [string, string, Record<string, unknown> | undefined, string][] = [
      ['POST', '/apps', { name: 'nul\u0000here' }, 'body.name'],
      ['POST', '/apps', { name: 'app', metadata: { tag: ['ok', 'x\u0000'] } }, 'body.metadata.tag.1'],
      ['POST', '/apps', { name: 'lone \ud800 surrogate' }, 'body.name'],
      ['GET', '/apps?name=%00', undefined, 'query.name'],
      ['GET', '/apps/app_%00', undefined, 'path.id'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await h.admin(method, path, body);
      assert.equal(res.status, 400, `${method} ${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'VALIDATION_FAILED');
      assert.deepEqual(
        res.body.errors.map((e: { field: string }) => e.field),
        [field],
        `${method} ${path}`,
      );
    }
  });

  test('the authorization server answers a NUL where it looks records up by what the client sent as bad input, not a server error', async () => {
    const client = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: [], firstParty: true });
    // The interaction's id is found by the path: a NUL there names no interaction.
    const interaction = await fetch(`${h.issuer}/interaction/%00abc`, { redirect: 'manual' });
    assert.ok(interaction.status >= 400 && interaction.status < 500, `interaction: ${interaction.status}`);
    // A device's user code is found by what the user typed.
    const device = new Browser(h.issuer);
    const form = asPage(await device.go(`${h.issuer}/device`));
    const wrongCode = asPage(await device.submit(form, { user_code: 'AB\u0000CD' }));
    assert.match(wrongCode.html, /That code is not right/);
    // An account is found by the name typed on the sign-in page.
    const { url: signInUrl } = await authorizationUrl(h, client.id);
    const browser = new Browser(h.issuer);
    const login = asPage(await browser.go(signInUrl));
    const refused = asPage(await browser.submit(login, { username: 'ali\u0000ce', password: 'whatever' }, '/login'));
    assert.equal(refused.status, 401, 'the sign-in page again, as for any wrong name');
    assert.match(refused.html, /name="password"/);
    // Parameters an authorization request carries are sealed into its records: they pass through.
    const { url } = await authorizationUrl(h, client.id, { state: 'x\u0000y' });
    const page = await new Browser(h.issuer).go(url);
    assert.ok(!(page instanceof URL) && page.status === 200, 'the sign-in page');
  });
});
