import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { ADMIN_ROUTES } from '../src/control/admin/routes.ts';
import type { AdminRoute } from '../src/control/admin/route.ts';
import { problemSchema } from '../src/control/admin/responses.ts';
import { call } from './support/harness.ts';
import { Browser, codeFlow, REDIRECT, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * The OpenAPI document's response schemas are the zod schemas in control/admin/responses.ts. This
 * suite keeps them honest: every admin route is run once against a real Gatehouse, and its answer
 * must parse with the route's own response schema (strict objects: a field the schema does not
 * declare fails too). A new route must join the walk below, or the coverage test fails.
 */
describe('every admin route answers with the shape its response schema declares', () => {
  let h: AuthHarness;
  const seen = new Set<AdminRoute>();
  const failures: string[] = [];

  before(async () => {
    // Webhooks may go to the harness's plain-HTTP upstream on loopback, which answers 200 to anything.
    h = await startAuthHarness({}, `webhooks:\n  allowHttp: true\n  allowedNetworks: ['127.0.0.1/32']\n  pollIntervalMs: 600000\n`);
  });
  after(() => h.close());

  /** The route a concrete request reaches: the template with the fewest parameters that matches. */
  function routeFor(method: string, path: string): AdminRoute {
    const matching = ADMIN_ROUTES.filter(
      (r) => r.method === method.toLowerCase() && new RegExp(`^${r.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(path.split('?')[0]!),
    ).sort((a, b) => a.path.split('{').length - b.path.split('{').length);
    assert.ok(matching[0], `no admin route for ${method} ${path}`);
    return matching[0];
  }

  /** Calls the admin API and checks the answer against the route's status and response schema. */
  async function run(method: string, path: string, body?: unknown): Promise<any> {
    const r = routeFor(method, path);
    const res = await h.admin(method, path, body);
    assert.equal(res.status, r.status, `${method} ${path}: ${JSON.stringify(res.body)}`);
    seen.add(r);
    if (r.status === 204) {
      assert.equal(res.body, null);
      assert.equal(r.response, undefined, `${r.method} ${r.path} answers 204 and declares no body`);
      return null;
    }
    assert.ok(r.response, `${r.method} ${r.path} declares a response schema`);
    const parsed = r.response.safeParse(res.body);
    if (!parsed.success)
      failures.push(
        `${r.method.toUpperCase()} ${r.path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n${JSON.stringify(res.body)}`,
      );
    return res.body;
  }

  test('APIs, apps, policies, keys, verification, usage, the request log and audit', async () => {
    const api = await run('POST', '/apis', {
      name: 'orders',
      listenPath: '/orders',
      upstreamUrl: h.upstream.url,
      identityJwt: true,
      pathCase: 'insensitive',
      auth: {
        type: 'apiKey',
        scopes: ['orders:read'],
        rateLimits: [{ name: 'per-app', limit: 100, windowSeconds: 60, by: 'app' }],
        routes: [{ paths: ['/admin/**'], type: 'bearer', roles: ['admin'] }],
      },
      tokens: { audience: 'https://orders.example', accessTokenTtlSeconds: 600 },
    });
    await run('GET', '/apis');
    await run('GET', `/apis/${api.id}`);
    await run('PATCH', `/apis/${api.id}`, { timeoutSeconds: 12 });
    const plain = await run('POST', '/apis', { name: 'billing', listenPath: '/billing', upstreamUrl: h.upstream.url });

    const app = await run('POST', '/apps', { name: 'Acme', owner: 'ops@acme.example', metadata: { tier: 'gold', nested: { a: [1, 2] } } });
    await run('GET', '/apps');
    await run('GET', `/apps/${app.id}`);
    await run('PATCH', `/apps/${app.id}`, { owner: null });

    const policy = await run('POST', '/policies', {
      name: 'gold',
      access: [{ apiId: api.id, methods: ['GET'], paths: ['/items/**'] }],
      rateLimits: [{ name: 'burst', limit: 10, windowSeconds: 1 }],
      quota: { limit: 1000, period: 'month' },
      ipAllowlist: ['127.0.0.0/8'],
      scopes: ['orders:read'],
    });
    await run('GET', '/policies');
    await run('GET', `/policies/${policy.id}`);
    await run('PATCH', `/policies/${policy.id}`, { scopes: null });

    const key = await run('POST', '/keys', { appId: app.id, policyId: policy.id, name: 'ci', expiresInSeconds: 86_400, metadata: { team: 'a' } });
    const own = await run('POST', '/keys', {
      appId: app.id,
      access: [{ apiId: plain.id }],
      rateLimits: [{ name: 'burst', limit: 5, windowSeconds: 1 }],
      quota: { limit: 100, period: 'day' },
      certificateThumbprint: 'A'.repeat(43),
    });
    const publishable = await run('POST', '/keys', {
      appId: app.id,
      access: [{ apiId: plain.id }],
      publishable: true,
      allowedOrigins: ['https://shop.example'],
      environment: 'test',
    });
    await run('GET', '/keys');
    await run('GET', `/keys?appId=${app.id}&status=active`);
    await run('GET', `/keys/${key.id}`);
    await run('PATCH', `/keys/${publishable.id}`, { name: 'storefront' });
    const unbound = await run('POST', '/keys', {
      appId: app.id,
      access: [{ apiId: plain.id }],
      rateLimits: [{ name: 'burst', limit: 5, windowSeconds: 1 }],
      quota: { limit: 100, period: 'day' },
    });
    assert.equal((await call(h, '/billing/x', { key: unbound.secret })).status, 200);
    await run('POST', '/keys/verify', { key: unbound.secret, api: 'billing', method: 'GET', path: '/x' });
    await run('POST', '/keys/verify', { key: own.secret });
    await run('POST', '/keys/verify', { key: 'not a key' });
    await run('POST', '/keys/lookup', { secrets: [unbound.secret, own.secret.slice(0, -1) + 'x', h.adminKey] });
    await run('POST', `/keys/${publishable.id}/exposed`, { source: 'operator', where: 'ticket SEC-1' });
    await run('GET', `/keys/${unbound.id}/usage`);
    const addresses = await run('GET', `/keys/${unbound.id}/addresses?limit=1`);
    assert.equal(addresses.items[0].address, '127.0.0.1', 'the call to /billing/x is listed');
    await h.gh.requestLog!.flush();
    const requests = await run('GET', '/requests?limit=10');
    assert.ok(requests.items.length > 0, 'the request to /billing/x is in the request log');
    const usage = await run('GET', '/usage?groupBy=api,statusClass&from=1h');
    assert.ok(usage.totals.requests > 0, 'the request to /billing/x is counted');
    await run('GET', '/usage/billing?period=day');
    const rotated = await run('POST', `/keys/${unbound.id}/rotate`, { gracePeriodSeconds: 60 });
    assert.equal((await run('GET', `/keys/${unbound.id}`)).drain.quiet, true, 'the rotated key shows its drain');
    await run('POST', `/keys/${own.id}/revoke`, { reason: 'test' });
    await run('GET', `/keys/${unbound.id}/impact?since=1h`);
    const compromised = await run('POST', `/keys/${key.id}/compromised`, { reason: 'leaked in a paste' });
    await run('GET', `/keys/${key.id}/impact`);
    await run('GET', `/audit?targetId=${unbound.id}`);
    await run('GET', '/audit?limit=100');
    for (const id of [key.id, own.id, publishable.id, unbound.id, rotated.id, compromised.replacement.id]) await run('DELETE', `/keys/${id}`);

    await run('DELETE', `/policies/${policy.id}`);
    await run('DELETE', `/apps/${app.id}`);
    for (const id of [api.id, plain.id]) await run('DELETE', `/apis/${id}`);
  });

  test('users, grants, OAuth clients and signing keys', async () => {
    const api = await h.api('reports', ['reports:read']);
    const web = await run('POST', '/clients', { name: 'Reports web', redirectUris: [REDIRECT], scopes: ['reports:read'], apiIds: [api.id], firstParty: true });
    const machine = await run('POST', '/clients', {
      name: 'Nightly',
      type: 'confidential',
      grantTypes: ['client_credentials'],
      scopes: ['reports:read'],
      apiIds: [api.id],
      accessTokenTtlSeconds: 300,
    });
    const spa = await run('POST', '/clients', { name: 'SPA', type: 'public', redirectUris: [REDIRECT], dpopBound: true });
    await run('GET', '/clients');
    await run('GET', `/clients/${web.id}`);
    await run('PATCH', `/clients/${machine.id}`, { disabled: true });
    await run('POST', `/clients/${machine.id}/secret`);

    const user = await run('POST', '/users', { username: 'ada@example.com', name: 'Ada', password: 'correct horse battery staple', roles: ['staff'] });
    await run('GET', '/users');
    await run('GET', `/users/${user.id}`);
    await run('PATCH', `/users/${user.id}`, { roles: ['staff', 'support'] });
    await run('POST', `/users/${user.id}/mfa/reset`);
    await codeFlow(h, new Browser(h.issuer), { client: { client_id: web.id }, auth: oauth.ClientSecretBasic(web.secret) }, 'ada@example.com', {
      scope: 'openid reports:read',
      resource: api.audience,
    });
    await run('GET', `/users/${user.id}/impact`);
    await run('GET', `/clients/${web.id}/impact?since=1h`);
    const grants = await run('GET', `/users/${user.id}/grants`);
    assert.equal(grants.grants.length, 1, 'the sign-in made a grant');
    assert.equal(grants.sessions.length, 1, 'and a session');
    await run('DELETE', `/grants/${grants.grants[0].id}`);
    await run('POST', `/users/${user.id}/grants/revoke`);
    await run('DELETE', `/users/${user.id}`);

    await run('GET', '/signing-keys');
    await run('POST', '/signing-keys/rotate', { alg: 'EdDSA' });
    for (const c of [web, machine, spa]) await run('DELETE', `/clients/${c.id}`);
  });

  test('webhooks: endpoints, secret rotation, a test send, deliveries, replay', async () => {
    const hook = await run('POST', '/webhooks', { url: `${h.upstream.url}/hooks`, events: ['key.created', 'key.revoked'], description: 'walk' });
    await run('GET', '/webhooks');
    await run('GET', `/webhooks/${hook.id}`);
    await run('PATCH', `/webhooks/${hook.id}`, { description: null, events: ['key.created'] });
    await run('POST', `/webhooks/${hook.id}/rotate-secret`, { overlapSeconds: 60 });
    assert.equal((await run('POST', `/webhooks/${hook.id}/test`)).delivered, true);
    const api = await h.api('hooked', []);
    const app = await run('POST', '/apps', { name: 'Hooked' });
    const key = await run('POST', '/keys', { appId: app.id, access: [{ apiId: api.id }] });
    await h.gh.webhooks!.deliverNow();
    const [delivery] = (await run('GET', `/webhooks/${hook.id}/deliveries`)).items;
    assert.equal(delivery.status, 'delivered');
    await run('GET', `/webhooks/${hook.id}/deliveries/${delivery.id}`);
    await run('POST', `/webhooks/${hook.id}/deliveries/${delivery.id}/replay`);
    await run('POST', `/webhooks/${hook.id}/replay`, { since: new Date(Date.now() - 3_600_000).toISOString() });
    await run('DELETE', `/webhooks/${hook.id}`);
    await run('DELETE', `/keys/${key.id}`);
  });

  test('developer portal: an API’s reference document, invitations, approvals', async () => {
    const api = await h.api('documented', []);
    const doc = { openapi: '3.1.0', info: { title: 'Documented', version: '1' }, paths: {} };
    await run('PUT', `/apis/${api.id}/openapi`, JSON.stringify(doc));
    await run('POST', '/portal/invites', { email: 'dev@example.com' });
    const { usersService } = await import('../src/control/services/users.ts');
    const pending = await usersService.create(
      h.gh.ctx,
      { actor: 'test', requestId: null },
      {
        username: 'waiting@example.com',
        name: null,
        password: 'correct horse battery staple',
        roles: [],
        mfaRequired: false,
        consoleRole: 'developer',
        pendingApproval: true,
      },
    );
    await run('POST', `/users/${pending.id}/approve`);
  });

  test('every answer parsed with its route’s response schema', () => {
    assert.deepEqual(failures, []);
  });

  test('every route in the table was run (a new route joins the walk above)', () => {
    const missing = ADMIN_ROUTES.filter((r) => !seen.has(r)).map((r) => `${r.method.toUpperCase()} ${r.path}`);
    assert.deepEqual(missing, []);
  });

  test('problem answers parse with the shared Problem schema', async () => {
    for (const res of [
      await h.admin('GET', `/keys/key_${'0'.repeat(28)}`),
      await h.admin('POST', '/apis', { name: 'Bad Name' }),
      await h.admin('GET', '/apis', undefined, `gka_live_${'A'.repeat(30)}`),
    ]) {
      const parsed = problemSchema.safeParse(res.body);
      assert.ok(parsed.success, `${JSON.stringify(res.body)}: ${parsed.error?.message}`);
    }
  });

  test('the OpenAPI document gives every answer a JSON schema, and every $ref in it resolves', async () => {
    const doc = (await (await fetch(`${h.gh.controlUrl}/admin/v1/openapi.json`)).json()) as any;
    for (const r of ADMIN_ROUTES) {
      const answer = doc.paths[r.path][r.method].responses[r.status];
      if (r.status === 204) assert.equal(answer.content, undefined);
      else assert.ok(answer.content['application/json'].schema, `${r.method} ${r.path}`);
      assert.equal(doc.paths[r.path][r.method].responses.default.content['application/problem+json'].schema.$ref, '#/components/schemas/Problem');
    }
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) {
      const target = /"\$ref":"#\/components\/schemas\/([^"]+)"/.exec(ref);
      assert.ok(target && doc.components.schemas[target[1]!], `${ref} resolves`);
    }
    const key = doc.paths['/keys/{id}'].get.responses[200].content['application/json'].schema;
    assert.equal(key.$ref, '#/components/schemas/KeyDetail');
    assert.ok(doc.components.schemas.KeyDetail.required.includes('status'));
    assert.ok(doc.components.schemas.KeyDetail.required.includes('drain'));
    assert.equal(doc.components.schemas.KeyDetail.properties.hash, undefined);
    assert.equal(doc.components.schemas.Key.properties.hash, undefined);
  });
});
