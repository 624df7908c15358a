import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { expectProblem } from './support/harness.ts';
import { signInConsole, startConsoleHarness, type ConsoleBrowser } from './support/console.ts';
import { asPage, authorizationUrl, Browser, insecure, PASSWORD, REDIRECT, type AuthHarness } from './support/oauth.ts';

const PORTAL_CONFIG = `
portal:
  signup: open
  maxClientsPerApp: 2
  clientGrantTypes: [authorization_code, refresh_token, client_credentials]
  clientScopes: ['orders:read', 'internal:read']
`;

/** The token endpoint's status for client credentials with this id and secret (200: a token; 401: not this client). */
async function tokenStatus(h: AuthHarness, clientId: string, secret: string): Promise<number> {
  const client = { client_id: clientId };
  const res = await oauth.clientCredentialsGrantRequest(h.as, client, oauth.ClientSecretBasic(secret), { scope: 'orders:read' }, insecure);
  return res.status;
}

describe('OAuth clients of a developer’s own apps in the portal (/portal/v1): the admin API’s rules within the operator’s', () => {
  let h: AuthHarness;
  let a: ConsoleBrowser;
  let b: ConsoleBrowser;
  let orders: string;
  let internal: string;
  before(async () => {
    h = await startConsoleHarness({}, PORTAL_CONFIG);
    orders = (await h.api('orders', ['orders:read', 'orders:admin'], { portal: { listed: true, description: 'Orders' } })).id;
    internal = (await h.api('internal', ['internal:read'])).id;
    a = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
    b = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
  });
  after(() => h.close());

  const appOf = async (who: ConsoleBrowser, name: string): Promise<string> => {
    const app = await who.call('POST', '/portal/v1/apps', { name });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    return app.body.id;
  };

  test('a developer registers a client (the secret once), gets a token with it, rotates the secret (the old one stops at once) and deletes it, audited under their name', async () => {
    const appId = await appOf(a, 'Sync');
    const made = await a.call('POST', `/portal/v1/apps/${appId}/clients`, { name: 'sync job', grantTypes: ['client_credentials'], scopes: ['orders:read'] });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.match(made.body.secret, /^gcs_live_/);
    assert.deepEqual([made.body.appId, made.body.apiIds, made.body.firstParty], [appId, [orders], false], 'the catalogue’s APIs by default; never first-party');
    assert.equal(await tokenStatus(h, made.body.id, made.body.secret), 200);

    const listed = await a.call('GET', `/portal/v1/apps/${appId}/clients`);
    assert.deepEqual(
      listed.body.items.map((c: any) => [c.id, c.secret]),
      [[made.body.id, undefined]],
    );
    assert.ok(!JSON.stringify((await a.call('GET', `/portal/v1/clients/${made.body.id}`)).body).includes(made.body.secret), 'the secret is shown once');

    const rotated = await a.call('POST', `/portal/v1/clients/${made.body.id}/rotate-secret`);
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    assert.notEqual(rotated.body.secret, made.body.secret);
    assert.equal(await tokenStatus(h, made.body.id, made.body.secret), 401, 'the old secret stopped working');
    assert.equal(await tokenStatus(h, made.body.id, rotated.body.secret), 200);

    assert.equal((await a.call('DELETE', `/portal/v1/clients/${made.body.id}`)).status, 204);
    assert.equal(await tokenStatus(h, made.body.id, rotated.body.secret), 401, 'a deleted client gets no token');
    expectProblem(await a.call('GET', `/portal/v1/clients/${made.body.id}`), 404, 'RESOURCE_NOT_FOUND');
    const entries = (await h.admin('GET', `/audit?targetId=${made.body.id}`)).body.items;
    assert.deepEqual(
      entries.map((e: any) => [e.action, e.actor, e.actorName]),
      ['client.deleted', 'client.secret_rotated', 'client.created'].map((action) => [action, `user:${a.sessionBody.user.id}`, a.sessionBody.user.name]),
    );
    assert.ok(!JSON.stringify(entries).includes(rotated.body.secret), 'no secret in the audit log');
  });

  test('only what the operator allows: grant types, the catalogue’s APIs, the scopes named for developers, a number of clients per app; the admin API’s rules too', async () => {
    const appId = await appOf(a, 'Rules');
    const refused = async (body: Record<string, unknown>, field: string) => {
      const res = await a.call('POST', `/portal/v1/apps/${appId}/clients`, { name: 'x', ...body });
      expectProblem(res, 400, 'VALIDATION_FAILED');
      // A field the portal does not take at all is named in the message of the body's error.
      assert.ok(
        res.body.errors.some((e: any) => e.field.endsWith(field) || e.message.includes(field)),
        `${field}: ${JSON.stringify(res.body.errors)}`,
      );
    };
    await refused({ grantTypes: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'] }, 'grantTypes');
    await refused({ grantTypes: ['client_credentials'], apiIds: [internal] }, 'apiIds');
    await refused({ grantTypes: ['client_credentials'], scopes: ['orders:admin'] }, 'scopes');
    // Allowed for developers, but not a scope of the client's API (the catalogue's orders): the admin API's rule.
    await refused({ grantTypes: ['client_credentials'], scopes: ['internal:read'] }, 'scopes');
    await refused({ grantTypes: ['authorization_code'] }, 'redirectUris');
    await refused({ grantTypes: ['client_credentials'], firstParty: true }, 'firstParty');
    const web = { grantTypes: ['authorization_code', 'refresh_token'], redirectUris: ['https://app.example/callback'], type: 'public' };
    expectProblem(await a.call('POST', `/portal/v1/apps/${appId}/clients`, { name: 'forged', ...web }, { 'x-csrf-token': 'nope' }), 403, 'CSRF_REJECTED');
    const first = await a.call('POST', `/portal/v1/apps/${appId}/clients`, { name: 'web', ...web });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.secret, undefined, 'a public client has no secret');
    expectProblem(await a.call('POST', `/portal/v1/clients/${first.body.id}/rotate-secret`), 409, 'CONFLICT');
    assert.equal((await a.call('POST', `/portal/v1/apps/${appId}/clients`, { name: 'two', ...web })).status, 201);
    expectProblem(await a.call('POST', `/portal/v1/apps/${appId}/clients`, { name: 'three', ...web }), 409, 'LIMIT_REACHED');
    expectProblem(await a.call('DELETE', `/portal/v1/apps/${appId}`), 409, 'CONFLICT');
    const settings = await a.call('GET', '/portal/v1/settings');
    assert.deepEqual(
      [settings.body.maxClientsPerApp, settings.body.clientGrantTypes, settings.body.clientScopes],
      [2, ['authorization_code', 'refresh_token', 'client_credentials'], ['orders:read', 'internal:read']],
    );
  });

  test('the consent page says a developer’s client is the developer’s, whatever name it took', async () => {
    const appId = await appOf(a, 'Totally Legit Tools');
    const made = await a.call('POST', `/portal/v1/apps/${appId}/clients`, {
      name: 'Gatehouse Security Team',
      grantTypes: ['authorization_code'],
      redirectUris: [REDIRECT],
      scopes: ['orders:read'],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const user = await h.user();
    const browser = new Browser(h.issuer);
    const { url } = await authorizationUrl(h, made.body.id, {
      scope: 'openid orders:read',
      resource: (await h.admin('GET', `/apis/${orders}`)).body.tokens.audience,
    });
    const login = asPage(await browser.go(url));
    const consent = asPage(await browser.submit(login, { username: user.username, password: PASSWORD }, '/login'));
    assert.match(consent.html, /Allow access\?/);
    assert.match(consent.html, /<strong>Gatehouse Security Team<\/strong> asks to act for you/);
    assert.match(consent.html, /A developer registered it for their app <strong>Totally Legit Tools<\/strong>: it is not run by this service’s operators/);
  });

  test('an operator cannot delete an app whose client is still registered: the client would outlive it, working and managed by nobody', async () => {
    const appId = await appOf(a, 'Short-lived');
    const made = await a.call('POST', `/portal/v1/apps/${appId}/clients`, { name: 'job', grantTypes: ['client_credentials'], scopes: ['orders:read'] });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const refused = await h.admin('DELETE', `/apps/${appId}`);
    expectProblem(refused, 409, 'CONFLICT');
    assert.match(refused.body.detail, /OAuth clients/);
    assert.equal((await h.admin('GET', `/apps/${appId}`)).status, 200, 'the app is still there');
    assert.equal(await tokenStatus(h, made.body.id, made.body.secret), 200);
    assert.equal((await a.call('DELETE', `/portal/v1/clients/${made.body.id}`)).status, 204);
    assert.equal((await h.admin('DELETE', `/apps/${appId}`)).status, 204);
  });

  test('developer B can neither see nor change developer A’s clients, nor register one for A’s app: 404, and nothing changed', async () => {
    const appId = await appOf(a, 'A’s');
    const client = (await a.call('POST', `/portal/v1/apps/${appId}/clients`, { name: 'A’s job', grantTypes: ['client_credentials'], scopes: ['orders:read'] }))
      .body;
    const operators = await h.client({ name: 'operators’ client', grantTypes: ['client_credentials'], scopes: ['orders:read'], apiIds: [orders] });
    const attempts: [string, string, unknown?][] = [
      ['GET', `/portal/v1/apps/${appId}/clients`],
      ['POST', `/portal/v1/apps/${appId}/clients`, { name: 'mine now', grantTypes: ['client_credentials'] }],
      ['GET', `/portal/v1/clients/${client.id}`],
      ['POST', `/portal/v1/clients/${client.id}/rotate-secret`],
      ['DELETE', `/portal/v1/clients/${client.id}`],
      ['GET', `/portal/v1/clients/${operators.id}`],
      ['POST', `/portal/v1/clients/${operators.id}/rotate-secret`],
      ['DELETE', `/portal/v1/clients/${operators.id}`],
    ];
    for (const [method, path, body] of attempts) expectProblem(await b.call(method, path, body), 404, 'RESOURCE_NOT_FOUND');
    // A, too, is refused the operators' client: it belongs to no developer's app.
    expectProblem(await a.call('DELETE', `/portal/v1/clients/${operators.id}`), 404, 'RESOURCE_NOT_FOUND');
    assert.equal(await tokenStatus(h, client.id, client.secret), 200, 'A’s secret still works');
    assert.equal(await tokenStatus(h, operators.id, operators.secret!), 200);
    assert.equal((await h.admin('GET', `/clients?limit=100`)).body.items.filter((c: any) => c.name === 'mine now').length, 0);
    assert.equal((await h.audit('client.secret_rotated')).filter((e: any) => e.targetId === client.id || e.targetId === operators.id).length, 0);
  });
});
