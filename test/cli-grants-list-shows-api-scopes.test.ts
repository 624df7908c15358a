import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli.ts';
import { Browser, codeFlow, REDIRECT, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * `grants list` is the runbook's first look at a leaked refresh token (docs/incident-response.md):
 * what the user allowed each client. An API's scopes are kept per API (`resources`), apart from the
 * OpenID scopes; a table of the OpenID scopes alone says the client got `openid` when it may call
 * the API with orders:read.
 */
describe('gatehouse grants list', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startAuthHarness();
  });
  after(() => h.close());

  test('the table shows each grant’s API scopes, by API, beside its OpenID scopes', async () => {
    const orders = await h.api('orders', ['orders:read'], { auth: { type: 'bearer' } });
    const web = await h.client({
      name: 'Orders web',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['orders:read'],
      apiIds: [orders.id],
    });
    const user = await h.user();
    await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read', resource: orders.audience });

    const run = await runCli(['grants', 'list', '--user', user.id], { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey });
    assert.equal(run.code, 0, run.stderr);
    const row = run.stdout.split('\n').find((line) => line.includes(web.id));
    assert.ok(row, run.stdout);
    assert.match(row, /openid/);
    assert.match(row, new RegExp(`${orders.audience}.*orders:read`), `the API and its scope are in the grant's row:\n${run.stdout}`);
  });
});
