import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli.ts';
import { Browser, claimsOf, codeFlow, REDIRECT, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * A grant's refresh tokens are offline access (OpenID Connect Core §11: the client reaches the API
 * while the user is away, until the refresh token's absolute lifetime). Gatehouse issues them by the
 * client's grant types, not by the `offline_access` scope, and oidc-provider keeps that scope in the
 * grant only when asked for with prompt=consent: so the grants view (admin API, `gatehouse grants
 * list`, the incident runbook's first look) showed `openid` for a grant whose client held a refresh
 * token, saying it had no offline access. A grant with a live refresh token now shows offline_access.
 */
describe('the grants view shows offline_access for a grant with refresh tokens', () => {
  let h: AuthHarness;
  let orders: { id: string; audience: string };
  before(async () => {
    h = await startAuthHarness();
    orders = await h.api('orders', ['orders:read'], { auth: { type: 'bearer' } });
  });
  after(() => h?.close());

  const client = (name: string, grantTypes: string[]) => h.client({ name, redirectUris: [REDIRECT], grantTypes, scopes: ['orders:read'], apiIds: [orders.id] });
  const grantsOf = async (userId: string) => {
    const res = await h.admin('GET', `/users/${userId}/grants`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.grants as { id: string; clientId: string; scopes: string[] }[];
  };
  const cliRow = async (userId: string, clientId: string) => {
    const run = await runCli(['grants', 'list', '--user', userId], { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey });
    assert.equal(run.code, 0, run.stderr);
    const row = run.stdout.split('\n').find((line) => line.includes(clientId));
    assert.ok(row, run.stdout);
    return row;
  };

  test('a sign-in whose client got a refresh token: offline_access in the admin API and the CLI', async () => {
    const web = await client('Web with refresh', ['authorization_code', 'refresh_token']);
    const user = await h.user();
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    assert.ok(tokens.refresh_token, 'the client holds a refresh token');
    const [grant] = await grantsOf(user.id);
    assert.equal(grant?.id, claimsOf(tokens.access_token).gid);
    assert.deepEqual(grant?.scopes, ['openid', 'offline_access']);
    assert.match(await cliRow(user.id, web.id), /offline_access/);
  });

  test('a client that asked for offline_access with prompt=consent: shown once', async () => {
    const web = await client('Web asking offline', ['authorization_code', 'refresh_token']);
    const user = await h.user();
    await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid offline_access orders:read', prompt: 'consent', resource: orders.audience });
    assert.deepEqual((await grantsOf(user.id))[0]?.scopes, ['openid', 'offline_access']);
  });

  test('a client without refresh tokens: no offline_access', async () => {
    const web = await client('Web without refresh', ['authorization_code']);
    const user = await h.user();
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });
    assert.equal(tokens.refresh_token, undefined);
    assert.deepEqual((await grantsOf(user.id))[0]?.scopes, ['openid']);
    assert.doesNotMatch(await cliRow(user.id, web.id), /offline_access/);
  });
});
