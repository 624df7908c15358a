import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminKeysService } from '../src/control/services/admin-keys.ts';
import { fetchFrom, seed, startHarness, type Harness, expectProblem } from './support/harness.ts';

describe('admin API: bad input gets a clear error and changes nothing', () => {
  let h: Harness;
  let ids: Awaited<ReturnType<typeof seed>>;
  let auditCount: () => Promise<number>;
  before(async () => {
    h = await startHarness({ GATEHOUSE_ADMIN_MAX_BODY_BYTES: '2048' });
    ids = await seed(h);
    auditCount = async () => (await h.admin('GET', '/audit?limit=100')).body.items.length;
  });
  after(() => h.close());

  test('malformed JSON is 400 INVALID_JSON', async () => {
    const before = await auditCount();
    expectProblem(await h.admin('POST', '/apps', '{"name": "x",'), 400, 'INVALID_JSON');
    assert.equal(await auditCount(), before);
  });

  test('wrong types and unknown fields are 400 VALIDATION_FAILED naming each field', async () => {
    const before = await auditCount();
    const res = await h.admin('POST', '/keys', { appId: ids.appId, enabled: 'yes', rateLimits: [{ name: 'x', limit: -1, windowSeconds: 1 }], colour: 'red' });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    const fields = res.body.errors.map((e: { field: string }) => e.field).sort();
    assert.deepEqual(fields, ['body', 'body.enabled', 'body.rateLimits.0.limit']);
    assert.equal(await auditCount(), before);
    const keys = await h.admin('GET', `/keys?appId=${ids.appId}`);
    assert.equal(keys.body.items.length, 1);
  });

  test('a body that is not JSON is 415', async () => {
    const res = await fetch(`${h.gh.controlUrl}/admin/v1/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.adminKey}`, 'content-type': 'text/plain' },
      body: 'name=x',
    });
    assert.equal(res.status, 415);
    assert.equal(((await res.json()) as { code: string }).code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('an oversize body is 413 and nothing is created', async () => {
    const before = await auditCount();
    expectProblem(await h.admin('POST', '/apps', { name: 'big', metadata: { blob: 'x'.repeat(4096) } }), 413, 'BODY_TOO_LARGE');
    assert.equal(await auditCount(), before);
  });

  test('unknown ids are 404 in the path and 400 naming the field in the body', async () => {
    expectProblem(await h.admin('GET', '/keys/key_00000000000000000000000000ff'), 404, 'RESOURCE_NOT_FOUND');
    expectProblem(await h.admin('POST', '/keys/key_00000000000000000000000000ff/rotate', {}), 404, 'RESOURCE_NOT_FOUND');
    expectProblem(await h.admin('DELETE', '/apis/api_00000000000000000000000000ff'), 404, 'RESOURCE_NOT_FOUND');
    const res = await h.admin('POST', '/keys', { appId: 'app_00000000000000000000000000ff', access: [{ apiId: 'api_00000000000000000000000000ff' }] });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    assert.equal(res.body.errors[0].field, 'appId');
    expectProblem(await h.admin('GET', '/no-such-route'), 404, 'RESOURCE_NOT_FOUND');
  });

  test('a duplicate API name or listen path is 409, and so is deleting an app that has keys', async () => {
    expectProblem(await h.admin('POST', '/apis', { name: 'orders', listenPath: '/elsewhere', upstreamUrl: h.upstream.url }), 409, 'CONFLICT');
    expectProblem(await h.admin('POST', '/apis', { name: 'orders2', listenPath: '/orders', upstreamUrl: h.upstream.url }), 409, 'CONFLICT');
    expectProblem(await h.admin('DELETE', `/apps/${ids.appId}`), 409, 'CONFLICT');
    assert.equal((await h.admin('GET', `/apps/${ids.appId}`)).status, 200);
  });

  test('a missing or unknown admin key is 401 with a challenge; the key is never echoed', async () => {
    const none = await fetch(`${h.gh.controlUrl}/admin/v1/keys`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate')!, /^Bearer realm="gatehouse-admin"/);
    const wrong = 'gka_live_' + 'A'.repeat(30);
    const res = await h.admin('GET', '/keys', undefined, wrong);
    expectProblem(res, 401, 'UNAUTHENTICATED');
    assert.equal(JSON.stringify(res.body).includes(wrong), false);
    const apiKeyAsAdmin = await h.admin('GET', '/keys', undefined, ids.secret);
    expectProblem(apiKeyAsAdmin, 401, 'UNAUTHENTICATED');
  });

  test('the admin API takes its key with the Bearer scheme in any case (RFC 7235 §2.1), and no other scheme', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const res = await fetch(`${h.gh.controlUrl}/admin/v1/apps`, { headers: { authorization: `${scheme} ${h.adminKey}` } });
      assert.equal(res.status, 200, scheme);
    }
    for (const header of [`DPoP ${h.adminKey}`, `Basic ${h.adminKey}`, h.adminKey]) {
      const res = await fetch(`${h.gh.controlUrl}/admin/v1/apps`, { headers: { authorization: header } });
      assert.equal(res.status, 401, header.slice(0, 6));
    }
  });

  test('an admin key without the permission is 403 and changes nothing', async () => {
    const { secret } = await adminKeysService.create(h.gh.ctx, { actor: 'test', requestId: null }, 'reader', ['keys:read']);
    assert.equal((await h.admin('GET', '/keys', undefined, secret)).status, 200);
    const before = await auditCount();
    const res = await h.admin('POST', `/keys/${ids.keyId}/revoke`, { reason: 'x' }, secret);
    expectProblem(res, 403, 'PERMISSION_DENIED');
    assert.match(res.body.detail, /keys:write/);
    expectProblem(await h.admin('POST', '/keys/verify', { key: ids.secret }, secret), 403, 'PERMISSION_DENIED');
    expectProblem(await h.admin('GET', '/audit', undefined, secret), 403, 'PERMISSION_DENIED');
    assert.equal(await auditCount(), before);
    assert.equal((await h.admin('GET', `/keys/${ids.keyId}`)).body.status, 'active');
  });

  test('a revoked admin key stops working at once', async () => {
    const { adminKey, secret } = await adminKeysService.create(h.gh.ctx, { actor: 'test', requestId: null }, 'temp', ['keys:read']);
    assert.equal((await h.admin('GET', '/keys', undefined, secret)).status, 200);
    await adminKeysService.revoke(h.gh.ctx, { actor: 'test', requestId: null }, adminKey.id);
    expectProblem(await h.admin('GET', '/keys', undefined, secret), 401, 'UNAUTHENTICATED');
  });

  test('listen paths, route rule patterns and key path limits must be in canonical form', async () => {
    const before = await auditCount();
    for (const listenPath of ['/../admin', '/a/./b', '/a/..', '/.', '/a//b', '/a/', '/%61']) {
      const res = await h.admin('POST', '/apis', { name: 'sneaky', listenPath, upstreamUrl: h.upstream.url });
      expectProblem(res, 400, 'VALIDATION_FAILED');
      assert.equal(res.body.errors[0].field, 'body.listenPath', listenPath);
    }
    expectProblem(await h.admin('PATCH', `/apis/${ids.apiId}`, { listenPath: '/orders/../admin' }), 400, 'VALIDATION_FAILED');
    for (const pattern of ['/../admin/**', '/public/../admin', '/%61dmin/**', '/admin;x/**', '/admin%2fx', '/a//b', '/a\\b', '/%2561', '/%c0%ae', '/a%3fb']) {
      const rule = await h.admin('POST', '/apis', {
        name: 'rules',
        listenPath: '/rules',
        upstreamUrl: h.upstream.url,
        auth: { type: 'apiKey', scopes: [], routes: [{ paths: [pattern], type: 'public' }] },
      });
      expectProblem(rule, 400, 'VALIDATION_FAILED');
      assert.equal(rule.body.errors[0].field, 'body.auth.routes.0.paths.0', pattern);
      const key = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId, paths: [pattern] }] });
      expectProblem(key, 400, 'VALIDATION_FAILED');
      assert.equal(key.body.errors[0].field, 'body.access.0.paths.0', pattern);
    }
    const suggestion = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId, paths: ['/%61dmin/*/x%3f'] }] });
    assert.match(suggestion.body.errors[0].message, /write it as \/admin\/\*\/x%3F/);
    assert.equal(await auditCount(), before);
    const fine = await h.admin('POST', '/keys', {
      appId: ids.appId,
      access: [{ apiId: ids.apiId, paths: ['/public/**', 'items/*', '/a%20b', "/a+b!$&'(),=:@"] }],
    });
    assert.equal(fine.status, 201, JSON.stringify(fine.body));
  });

  test('PATCH changes only the fields it names: an API keeps its rules, timeout and path case, an app and a policy their settings', async () => {
    const api = await h.admin('POST', '/apis', {
      name: 'patched',
      listenPath: '/patched',
      upstreamUrl: h.upstream.url,
      timeoutSeconds: 5,
      pathCase: 'insensitive',
      auth: { type: 'apiKey', scopes: ['a:read'], routes: [{ paths: ['/admin/**'], type: 'public' }] },
    });
    assert.equal(api.status, 201, JSON.stringify(api.body));
    assert.equal(api.body.pathCase, 'insensitive');
    const renamed = await h.admin('PATCH', `/apis/${api.body.id}`, { name: 'patched-2' });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    const { name, updatedAt, ...rest } = renamed.body;
    const { name: _n, updatedAt: _u, ...original } = api.body;
    assert.equal(name, 'patched-2');
    assert.deepEqual(rest, original, 'auth, timeout and pathCase are kept');
    assert.equal((await h.admin('GET', `/apis/${api.body.id}`)).body.pathCase, 'insensitive', 'stored and read back');
    assert.equal((await h.admin('PATCH', `/apis/${api.body.id}`, { pathCase: 'sensitive' })).body.pathCase, 'sensitive');
    const app = await h.admin('POST', '/apps', { name: 'Owned', owner: 'ops@example.com', metadata: { team: 'a' } });
    const app2 = await h.admin('PATCH', `/apps/${app.body.id}`, { name: 'Owned 2' });
    assert.deepEqual([app2.body.owner, app2.body.metadata], ['ops@example.com', { team: 'a' }]);
    const policy = await h.admin('POST', '/policies', { name: 'gold', scopes: ['a:read'], access: [{ apiId: ids.apiId, paths: ['/public/**'] }] });
    const policy2 = await h.admin('PATCH', `/policies/${policy.body.id}`, { name: 'gold 2' });
    assert.deepEqual([policy2.body.scopes, policy2.body.access], [['a:read'], [{ apiId: ids.apiId, paths: ['/public/**'] }]]);
  });

  test('a key secret sent in a validation failure is not echoed back', async () => {
    const res = await h.admin('POST', '/keys/verify', { key: ids.secret, method: 'FETCH' });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    assert.equal(JSON.stringify(res.body).includes(ids.secret), false);
  });
});

describe('admin API: nesting is bounded before anything recurses', () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.close());

  test('10,000 levels of nested metadata are 400 naming the limit, and create nothing', async () => {
    const deep = '{"name":"deep","metadata":' + '{"x":'.repeat(10_000) + '1' + '}'.repeat(10_000) + '}';
    const res = await h.admin('POST', '/apps', deep);
    expectProblem(res, 400, 'VALIDATION_FAILED');
    assert.match(res.body.detail, /nests deeper than 32 levels/);
    assert.equal((await h.admin('GET', '/apps')).body.items.length, 0);
  });

  test('metadata may nest 8 levels, not 9', async () => {
    const nested = (levels: number) => JSON.parse('{"x":'.repeat(levels) + '1' + '}'.repeat(levels));
    assert.equal((await h.admin('POST', '/apps', { name: 'eight', metadata: nested(8) })).status, 201);
    const nine = await h.admin('POST', '/apps', { name: 'nine', metadata: nested(9) });
    expectProblem(nine, 400, 'VALIDATION_FAILED');
    assert.match(JSON.stringify(nine.body), /metadata nests deeper than 8 levels/);
  });
});

describe('admin API: failed admin keys are throttled per address', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '5', GATEHOUSE_AUTH_FAILURES_WINDOW_SECONDS: '60' });
  });
  after(() => h.close());

  test('after five wrong admin keys an address gets 429 with Retry-After, before its key is looked at, even a valid one', async () => {
    const from = fetchFrom('127.0.0.2');
    const get = async (key: string) => {
      const res = await from(`${h.gh.controlUrl}/admin/v1/apis`, { headers: { authorization: `Bearer ${key}` } });
      return { status: res.status, headers: res.headers, body: (await res.json()) as any };
    };
    for (let i = 0; i < 5; i++) expectProblem(await get(`gka_live_${'A'.repeat(29)}${i}`), 401, 'UNAUTHENTICATED');
    const blocked = await get(h.adminKey);
    expectProblem(blocked, 429, 'AUTH_RATE_LIMITED');
    assert.equal(blocked.headers.get('retry-after'), '12');
    assert.equal((await h.admin('GET', '/apis')).status, 200, 'other addresses are not held back');
    h.clock.advance(12_000);
    assert.equal((await get(h.adminKey)).status, 200);
  });

  test('a request without a key is told to send one and is not counted', async () => {
    const from = fetchFrom('127.0.0.3');
    for (let i = 0; i < 6; i++) assert.equal((await from(`${h.gh.controlUrl}/admin/v1/apis`)).status, 401);
    assert.equal((await from(`${h.gh.controlUrl}/admin/v1/apis`, { headers: { authorization: `Bearer ${h.adminKey}` } })).status, 200);
  });
});

describe('admin API: a key must work on some API', () => {
  let h: Harness;
  let ids: Awaited<ReturnType<typeof seed>>;
  before(async () => {
    h = await startHarness();
    ids = await seed(h);
  });
  after(() => h.close());

  const keyCount = async () => (await h.admin('GET', `/keys?appId=${ids.appId}&limit=100`)).body.items.length;

  test('POST /keys without access, or with a policy that grants none, is 400 and says how to grant access', async () => {
    const before = await keyCount();
    const empty = (await h.admin('POST', '/policies', { name: 'limits-only', quota: { limit: 10, period: 'day' } })).body;
    for (const body of [{}, { access: [] }, { policyId: empty.id }, { policyId: empty.id, access: null }]) {
      const res = await h.admin('POST', '/keys', { appId: ids.appId, ...body });
      expectProblem(res, 400, 'VALIDATION_FAILED');
      assert.match(res.body.detail, /works on no API/);
      const fields = Object.fromEntries(res.body.errors.map((e: { field: string; message: string }) => [e.field, e.message]));
      assert.match(fields.access, /apiId/);
      assert.match(fields.access, /--api/);
      assert.match(fields.policyId, /--policy/);
    }
    assert.equal(await keyCount(), before);
  });

  test('POST /keys with access of its own, or a policy that grants access, is 201', async () => {
    const granting = (await h.admin('POST', '/policies', { name: 'grants-orders', access: [{ apiId: ids.apiId }] })).body;
    assert.equal((await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] })).status, 201);
    assert.equal((await h.admin('POST', '/keys', { appId: ids.appId, policyId: granting.id })).status, 201);
  });

  test('a PATCH that would leave a key working on no API is 400 and changes nothing', async () => {
    const key = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] })).body;
    for (const patch of [{ access: null }, { access: [] }]) expectProblem(await h.admin('PATCH', `/keys/${key.id}`, patch), 400, 'VALIDATION_FAILED');
    assert.deepEqual((await h.admin('GET', `/keys/${key.id}`)).body.access, [{ apiId: ids.apiId }]);
    // A patch that leaves access alone is not checked: keys made before this rule can still be renamed.
    assert.equal((await h.admin('PATCH', `/keys/${key.id}`, { name: 'renamed' })).status, 200);
  });
});

describe('admin API: ids in bodies and paths, names found with ?name=', () => {
  let h: Harness;
  let ids: Awaited<ReturnType<typeof seed>>;
  before(async () => {
    h = await startHarness();
    ids = await seed(h);
  });
  after(() => h.close());

  test('GET /apis, /apps and /policies?name= list only what has that exact name', async () => {
    await h.admin('POST', '/apps', { name: 'Acme integration' });
    await h.admin('POST', '/apps', { name: 'Other' });
    const policy = (await h.admin('POST', '/policies', { name: 'gold' })).body;
    assert.deepEqual(
      (await h.admin('GET', '/apis?name=orders')).body.items.map((a: { id: string }) => a.id),
      [ids.apiId],
    );
    assert.deepEqual((await h.admin('GET', '/apis?name=order')).body.items, []);
    const apps = (await h.admin('GET', `/apps?name=${encodeURIComponent('Acme integration')}`)).body.items;
    assert.equal(apps.length, 2);
    assert.ok(apps.every((a: { name: string }) => a.name === 'Acme integration'));
    const paged = await h.admin('GET', `/apps?name=${encodeURIComponent('Acme integration')}&limit=1`);
    assert.equal(paged.body.items.length, 1);
    assert.equal((await h.admin('GET', `/apps?name=${encodeURIComponent('Acme integration')}&limit=1&cursor=${paged.body.nextCursor}`)).body.items.length, 1);
    assert.deepEqual(
      (await h.admin('GET', '/policies?name=gold')).body.items.map((p: { id: string }) => p.id),
      [policy.id],
    );
  });

  test('a name where a body takes an id is 400 naming the field; the verify endpoint’s api takes a name or an id', async () => {
    const res = await h.admin('POST', '/keys', { appId: 'Acme integration', access: [{ apiId: 'orders' }] });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    assert.deepEqual(res.body.errors.map((e: { field: string }) => e.field).sort(), ['body.access.0.apiId', 'body.appId']);
    assert.equal((await h.admin('POST', '/keys/verify', { key: ids.secret, api: 'orders' })).body.code, 'VALID');
    assert.equal((await h.admin('POST', '/keys/verify', { key: ids.secret, api: ids.apiId })).body.code, 'VALID');
    expectProblem(await h.admin('POST', '/keys/verify', { key: ids.secret, api: 'no-such-api' }), 400, 'VALIDATION_FAILED');
  });

  test('the OpenAPI document states the rule: ids are references, the verify endpoint’s api is a lookup', async () => {
    const doc = (await (await fetch(`${h.gh.controlUrl}/admin/v1/openapi.json`)).json()) as any;
    assert.match(doc.info.description, /ids/);
    const body = doc.paths['/keys'].post.requestBody.content['application/json'].schema;
    assert.match(body.properties.appId.description, /\?name=/);
    const verify = doc.paths['/keys/verify'].post.requestBody.content['application/json'].schema;
    assert.match(verify.properties.api.description, /name or id/);
    assert.ok(doc.paths['/apis'].get.parameters.some((p: { name: string }) => p.name === 'name'));
  });
});

describe('admin API: OpenAPI document', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('describes every route with the schemas that validate it', async () => {
    const res = await fetch(`${h.gh.controlUrl}/admin/v1/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as any;
    assert.equal(doc.openapi, '3.1.0');
    for (const path of ['/apis', '/apps', '/policies', '/keys', '/keys/{id}', '/keys/{id}/rotate', '/keys/{id}/revoke', '/keys/verify', '/audit']) {
      assert.ok(doc.paths[path], path);
    }
    const create = doc.paths['/keys'].post;
    assert.equal(create['x-gatehouse-permission'], 'keys:write');
    const schema = create.requestBody.content['application/json'].schema;
    assert.deepEqual(schema.required, ['appId']);
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.properties.environment.enum, ['live', 'test']);
    const verify = doc.paths['/keys/verify'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(verify.required, ['key']);
  });
});
