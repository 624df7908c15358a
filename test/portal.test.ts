import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { keyRecord } from '../src/store/contract/fixtures.ts';
import { call, expectProblem } from './support/harness.ts';
import { signInConsole, signUp, startConsoleHarness, type ConsoleBrowser } from './support/console.ts';
import { asPage, authorizationUrl, Browser, PASSWORD, REDIRECT, type AuthHarness } from './support/oauth.ts';

const PORTAL_CONFIG = `
portal:
  signup: open
  maxAppsPerDeveloper: 2
  maxKeysPerApp: 2
  keyPolicy: portal-keys
`;

describe('the developer portal API (/portal/v1): own apps and keys within the operator’s limits, the catalogue', () => {
  let h: AuthHarness;
  let a: ConsoleBrowser;
  let b: ConsoleBrowser;
  let orders: string;
  let internal: string;
  let policyId: string;
  before(async () => {
    h = await startConsoleHarness({}, PORTAL_CONFIG);
    policyId = (await h.admin('POST', '/policies', { name: 'portal-keys', rateLimits: [{ name: 'per-minute', limit: 60, windowSeconds: 60 }] })).body.id;
    orders = (
      await h.admin('POST', '/apis', {
        name: 'orders',
        listenPath: '/orders',
        upstreamUrl: h.upstream.url,
        portal: { listed: true, description: 'Orders, for partners' },
      })
    ).body.id;
    internal = (await h.admin('POST', '/apis', { name: 'internal', listenPath: '/internal', upstreamUrl: h.upstream.url })).body.id;
    for (const who of ['a', 'b']) assert.equal((await signUp(h, { username: `${who}@dev.example`, password: PASSWORD, name: who.toUpperCase() })).status, 201);
    a = await signInConsole(h, 'a@dev.example', { secondFactor: false, returnTo: '/developers/' });
    b = await signInConsole(h, 'b@dev.example', { secondFactor: false, returnTo: '/developers/' });
  });
  after(() => h.close());

  test('open sign-up makes a developer, who lands on the portal; the catalogue lists only listed APIs, with where to call them', async () => {
    assert.equal(a.sessionBody.role, 'developer');
    assert.deepEqual(a.sessionBody.permissions, []);
    const catalogue = await a.call('GET', '/portal/v1/apis');
    assert.equal(catalogue.status, 200, JSON.stringify(catalogue.body));
    assert.deepEqual(
      catalogue.body.items.map((x: any) => [x.id, x.description, x.gatewayUrl, x.hasReference]),
      [[orders, 'Orders, for partners', `${h.gh.gatewayUrl}/orders`, false]],
    );
    expectProblem(await a.call('GET', `/portal/v1/apis/${internal}/openapi`), 404, 'RESOURCE_NOT_FOUND');
  });

  test('a developer makes an app and a key (the secret once, the operator’s policy, listed APIs only) and calls the API with it', async () => {
    const app = await a.call('POST', '/portal/v1/apps', { name: 'My shop', description: 'a shop' });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    assert.equal(app.body.ownerUserId, a.sessionBody.user.id);
    const key = await a.call('POST', `/portal/v1/apps/${app.body.id}/keys`, { name: 'laptop' });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    assert.match(key.body.secret, /^gk_test_/);
    assert.equal(key.body.policyId, policyId);
    assert.deepEqual(key.body.access, [{ apiId: orders }]);
    expectProblem(await a.call('POST', `/portal/v1/apps/${app.body.id}/keys`, { apiIds: [internal] }), 400, 'VALIDATION_FAILED');
    assert.equal((await call(h, '/orders/list', { key: key.body.secret })).status, 200);
    assert.equal((await call(h, '/internal/x', { key: key.body.secret })).status, 403);
    const listed = await a.call('GET', `/portal/v1/apps/${app.body.id}/keys`);
    assert.deepEqual(
      listed.body.items.map((k: any) => [k.id, k.secret]),
      [[key.body.id, undefined]],
    );
    const usage = await a.call('GET', `/portal/v1/keys/${key.body.id}/usage`);
    assert.equal(usage.status, 200);
    assert.equal(
      usage.body.days.reduce((n: number, d: any) => n + d.requests, 0),
      1,
      'the call it was allowed (a refused one uses nothing)',
    );
    const rotated = await a.call('POST', `/portal/v1/keys/${key.body.id}/rotate`, { gracePeriodSeconds: 60 });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    assert.notEqual(rotated.body.secret, key.body.secret);
    const revoked = await a.call('POST', `/portal/v1/keys/${rotated.body.id}/revoke`, { reason: 'done' });
    assert.equal(revoked.body.status, 'revoked');
    const [entry] = (await h.admin('GET', `/audit?targetId=${rotated.body.id}&action=key.revoked`)).body.items;
    assert.equal(entry.actor, `user:${a.sessionBody.user.id}`);
    assert.equal(entry.actorName, 'a@dev.example');
  });

  test('developer B can neither read nor change developer A’s app or keys: 404, as if they did not exist', async () => {
    const app = (await a.call('POST', '/portal/v1/apps', { name: 'A only' })).body;
    const key = (await a.call('POST', `/portal/v1/apps/${app.id}/keys`, {})).body;
    const attempts: [string, string, unknown?][] = [
      ['GET', `/portal/v1/apps/${app.id}`],
      ['PATCH', `/portal/v1/apps/${app.id}`, { name: 'mine now' }],
      ['DELETE', `/portal/v1/apps/${app.id}`],
      ['GET', `/portal/v1/apps/${app.id}/keys`],
      ['POST', `/portal/v1/apps/${app.id}/keys`, {}],
      ['GET', `/portal/v1/keys/${key.id}`],
      ['GET', `/portal/v1/keys/${key.id}/usage`],
      ['POST', `/portal/v1/keys/${key.id}/rotate`, {}],
      ['POST', `/portal/v1/keys/${key.id}/revoke`, { reason: 'not mine' }],
    ];
    for (const [method, path, body] of attempts) expectProblem(await b.call(method, path, body), 404, 'RESOURCE_NOT_FOUND');
    assert.deepEqual((await b.call('GET', '/portal/v1/apps')).body.items, []);
    assert.equal((await h.admin('GET', `/keys/${key.id}`)).body.status, 'active');
    assert.equal((await h.admin('GET', `/apps/${app.id}`)).body.name, 'A only');
  });

  test('the operator’s limits hold: apps per developer, keys in use per app', async () => {
    const c = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
    const first = (await c.call('POST', '/portal/v1/apps', { name: 'one' })).body;
    assert.equal((await c.call('POST', '/portal/v1/apps', { name: 'two' })).status, 201);
    expectProblem(await c.call('POST', '/portal/v1/apps', { name: 'three' }), 409, 'LIMIT_REACHED');
    const k1 = (await c.call('POST', `/portal/v1/apps/${first.id}/keys`, {})).body;
    assert.equal((await c.call('POST', `/portal/v1/apps/${first.id}/keys`, {})).status, 201);
    expectProblem(await c.call('POST', `/portal/v1/apps/${first.id}/keys`, {}), 409, 'LIMIT_REACHED');
    await c.call('POST', `/portal/v1/keys/${k1.id}/revoke`, { reason: 'make room' });
    assert.equal((await c.call('POST', `/portal/v1/apps/${first.id}/keys`, {})).status, 201, 'a revoked key does not count');
  });

  test('keys in use are counted however many revoked keys an app has had, and every key is listed, a page at a time', async () => {
    const c = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
    const app = (await c.call('POST', '/portal/v1/apps', { name: 'long-lived' })).body;
    // An app that has made and revoked a thousand keys over the years (written to the store directly).
    const now = h.gh.ctx.clock();
    for (let i = 0; i < 1000; i++) {
      const key = keyRecord(app.id, { revokedAt: now - 1000, revokedReason: 'old' }, now - 60_000);
      await h.gh.ctx.store.keys.create(key, {
        actor: 'test',
        requestId: null,
        action: 'created',
        targetType: 'key',
        targetId: key.id,
        before: null,
        after: null,
      });
    }
    assert.equal((await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {})).status, 201);
    assert.equal((await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {})).status, 201);
    expectProblem(await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {}), 409, 'LIMIT_REACHED');
    const listed: { status: string }[] = [];
    for (let cursor: string | null = ''; cursor !== null;) {
      const page = await c.call('GET', `/portal/v1/apps/${app.id}/keys?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      listed.push(...page.body.items);
      cursor = page.body.nextCursor;
    }
    assert.equal(listed.length, 1002);
    assert.equal(listed.filter((k) => k.status === 'active').length, 2, 'the keys in use are listed too');
  });

  test('an operator attaches an OpenAPI document (YAML or JSON); developers read it as JSON; what is not OpenAPI 3.x is refused', async () => {
    const put = (body: string, type: string) =>
      fetch(`${h.issuer}/admin/v1/apis/${orders}/openapi`, { method: 'PUT', headers: { authorization: `Bearer ${h.adminKey}`, 'content-type': type }, body });
    const bad = await put('swagger: "2.0"\ninfo: {title: x, version: "1"}\npaths: {}\n', 'application/yaml');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as any).code, 'VALIDATION_FAILED');
    assert.equal((await put('{}', 'text/plain')).status, 415);
    const ok = await put(
      'openapi: 3.1.0\ninfo:\n  title: Orders\n  version: "1"\npaths:\n  /list:\n    get:\n      responses:\n        "200": {description: ok}\n',
      'application/yaml',
    );
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal(((await ok.json()) as any).contentType, 'application/json');
    const catalogue = await a.call('GET', '/portal/v1/apis');
    assert.equal(catalogue.body.items[0].hasReference, true);
    const doc = await a.call('GET', `/portal/v1/apis/${orders}/openapi`);
    assert.equal(doc.status, 200);
    assert.equal(doc.body.info.title, 'Orders');
    assert.ok(doc.body.paths['/list']);
    assert.equal((await h.audit('api.reference_attached'))[0].after.title, 'Orders');
  });

  test('state changes need the CSRF token; an auditor may not use the portal; the portal’s API is described by OpenAPI', async () => {
    expectProblem(await a.call('POST', '/portal/v1/apps', { name: 'x' }, { 'x-csrf-token': 'nope' }), 403, 'CSRF_REJECTED');
    expectProblem(await a.call('POST', '/portal/v1/apps', { name: 'x' }, { origin: 'https://evil.example' }), 403, 'CSRF_REJECTED');
    const auditor = await signInConsole(h, (await h.user({ consoleRole: 'auditor' })).username, { secondFactor: false });
    expectProblem(await auditor.call('GET', '/portal/v1/apps'), 403, 'PERMISSION_DENIED');
    const none = await fetch(`${h.issuer}/portal/v1/apps`);
    assert.equal(none.status, 401);
    const doc = (await (await fetch(`${h.issuer}/portal/v1/openapi.json`)).json()) as any;
    assert.equal(doc.servers[0].url, '/portal/v1');
    assert.ok(doc.paths['/apps/{id}/keys'].post);
    assert.ok(doc.paths['/keys/{id}/rotate'].post);
  });

  test('sign-up refuses another origin, a taken address and a short password, naming the field', async () => {
    expectProblem(await signUp(h, { username: 'c@dev.example', password: PASSWORD }, 'https://evil.example'), 403, 'CSRF_REJECTED');
    expectProblem(await signUp(h, { username: 'a@dev.example', password: PASSWORD }), 409, 'CONFLICT');
    const short = await signUp(h, { username: 'c@dev.example', password: 'short' });
    expectProblem(short, 400, 'VALIDATION_FAILED');
    assert.equal(short.body.errors[0].field, 'body.password');
  });
});

describe('portal sign-up by invitation (the default) and with an operator’s approval', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startConsoleHarness();
  });
  after(() => h.close());

  test('invite-only: no sign-up without an invitation; an invitation works once, for its address', async () => {
    expectProblem(await signUp(h, { username: 'd@dev.example', password: PASSWORD }), 403, 'SIGN_UP_CLOSED');
    const invite = await h.admin('POST', '/portal/invites', { email: 'D@dev.example' });
    assert.equal(invite.status, 201, JSON.stringify(invite.body));
    assert.match(invite.body.path, /^\/developers\/signup\?invite=[\w-]{43}$/);
    expectProblem(await signUp(h, { username: 'e@dev.example', password: PASSWORD, invite: invite.body.token }), 403, 'SIGN_UP_CLOSED');
    const made = await signUp(h, { username: 'd@dev.example', password: PASSWORD, invite: invite.body.token });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.status, 'active');
    expectProblem(await signUp(h, { username: 'd2@dev.example', password: PASSWORD, invite: invite.body.token }), 403, 'SIGN_UP_CLOSED');
    const d = await signInConsole(h, 'd@dev.example', { secondFactor: false, returnTo: '/developers/' });
    assert.equal(d.sessionBody.role, 'developer');
    // Operators invite (developers:write); an auditor may not.
    const auditor = await signInConsole(h, (await h.user({ consoleRole: 'auditor' })).username, { secondFactor: false });
    expectProblem(await auditor.call('POST', '/admin/v1/portal/invites', { email: 'x@dev.example' }), 403, 'PERMISSION_DENIED');
  });

  test('approval: the account waits, is listed as waiting, cannot sign in to the web app, and can once an operator approves it', async () => {
    const approving = await startConsoleHarness({ GATEHOUSE_PORTAL_SIGNUP: 'approval' });
    const waiting = async (flag = 'true') => {
      const res = await approving.admin('GET', `/users?pendingApproval=${flag}&limit=100`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.items.map((u: { username: string }) => u.username);
    };
    try {
      const operator = await approving.user({ consoleRole: 'operator' });
      const made = await signUp(approving, { username: 'p@dev.example', password: PASSWORD });
      assert.equal(made.status, 202, JSON.stringify(made.body));
      assert.equal(made.body.status, 'pending');
      assert.deepEqual(await waiting(), ['p@dev.example']);
      assert.ok((await waiting('false')).includes(operator.username));
      assert.ok(!(await waiting('false')).includes('p@dev.example'));
      expectProblem(await approving.admin('GET', '/users?pendingApproval=yes'), 400, 'VALIDATION_FAILED');
      const browser = new Browser(approving.issuer);
      const login = asPage(await browser.go('/bff/login'));
      const refused = asPage(await browser.submit(login, { username: 'p@dev.example', password: PASSWORD }, '/login'));
      assert.equal(refused.status, 403);
      assert.match(refused.html, /waiting for an operator/);
      const approved = await approving.admin('POST', `/users/${made.body.user.id}/approve`);
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.pendingApproval, false);
      expectProblem(await approving.admin('POST', `/users/${made.body.user.id}/approve`), 409, 'CONFLICT');
      assert.deepEqual(await waiting(), [], 'an approved account waits no more');
      const p = await signInConsole(approving, 'p@dev.example', { secondFactor: false, returnTo: '/developers/' });
      assert.equal(p.sessionBody.role, 'developer');
    } finally {
      await approving.close();
    }
  });

  test('a sign-up waiting for approval cannot sign in to any application, only learns it is waiting, and is audited', async () => {
    const approving = await startConsoleHarness({ GATEHOUSE_PORTAL_SIGNUP: 'approval' });
    try {
      const made = await signUp(approving, { username: 'q@dev.example', password: PASSWORD });
      assert.equal(made.body.status, 'pending');
      const orders = await approving.api('orders', ['orders:read']);
      const web = await approving.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
      const browser = new Browser(approving.issuer);
      const login = asPage(await browser.go((await authorizationUrl(approving, web.id)).url));
      const refused = asPage(await browser.submit(login, { username: 'q@dev.example', password: PASSWORD }, '/login'));
      assert.equal(refused.status, 403, 'no code for the application');
      assert.match(refused.html, /waiting for an operator/);
      const wrong = asPage(
        await browser.submit(
          asPage(await browser.go((await authorizationUrl(approving, web.id)).url)),
          { username: 'q@dev.example', password: 'not the password!!' },
          '/login',
        ),
      );
      assert.equal(wrong.status, 401, 'without the password the account’s state is not told');
      assert.doesNotMatch(wrong.html, /waiting/);
      const failures = await approving.audit('user.login_failed');
      assert.ok(failures.some((e: any) => e.targetId === made.body.user.id && e.after.reason === 'pending_approval'));
    } finally {
      await approving.close();
    }
  });
});
