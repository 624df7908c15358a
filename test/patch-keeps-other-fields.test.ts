import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clientPatchSchema, userPatchSchema } from '../src/domain/inputs/identity.ts';
import { apiPatchSchema, appPatchSchema, keyPatchSchema, policyPatchSchema } from '../src/domain/inputs/resources.ts';
import { startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * PATCH is RFC 7396 merge-patch: for every resource and every field its PATCH schema takes, sending
 * that one field changes that field and nothing else, and the audit entry lists only what changed.
 * Each resource starts with non-default values everywhere, so a field reset to its default shows.
 */
interface Resource {
  path: string;
  schema: { shape: Record<string, unknown> };
  create: () => Promise<string>;
  /** A new value for each field, and the fields of the answer it may change besides itself. */
  samples: Record<string, { value: unknown; alsoChanges?: string[] }>;
  /** Fields no sample can exercise here, with the test that covers them. */
  elsewhere?: Record<string, string>;
  /** Fields of the answer that are derived and may move with any change (not audited). */
  derived?: string[];
}

describe('PATCH changes the fields it names and keeps every other one', () => {
  let h: AuthHarness;
  let apiId: string;
  let appId: string;
  let policyId: string;
  const uniq = (() => {
    let n = 0;
    return () => ++n;
  })();
  before(async () => {
    h = await startAuthHarness();
    apiId = (await h.admin('POST', '/apis', { name: 'base', listenPath: '/base', upstreamUrl: h.upstream.url })).body.id;
    appId = (await h.admin('POST', '/apps', { name: 'base app' })).body.id;
    policyId = (await h.admin('POST', '/policies', { name: 'base policy', access: [{ apiId }], quota: { limit: 10, period: 'day' } })).body.id;
  });
  after(() => h.close());

  const created = async (path: string, body: unknown): Promise<string> => {
    const res = await h.admin('POST', path, body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id;
  };

  const resources = (): Resource[] => [
    {
      path: '/apis',
      schema: apiPatchSchema,
      create: () => {
        const n = uniq();
        return created('/apis', {
          name: `orders-${n}`,
          listenPath: `/orders-${n}`,
          upstreamUrl: h.upstream.url,
          timeoutSeconds: 10,
          identityJwt: true,
          requestLog: { query: true },
          auth: { type: 'apiKey', scopes: ['orders:read'], routes: [{ paths: ['/admin/**'], type: 'bearer', roles: ['admin'] }] },
          tokens: { audience: `https://orders-${n}.example`, accessTokenTtlSeconds: 600 },
          portal: { listed: true, description: 'for partners' },
        });
      },
      samples: {
        name: { value: `renamed-${uniq()}` },
        listenPath: { value: `/moved-${uniq()}` },
        upstreamUrl: { value: 'http://127.0.0.1:9/elsewhere' },
        auth: { value: { scopes: ['orders:write'] } },
        timeoutSeconds: { value: 20 },
        pathCase: { value: 'insensitive' },
        identityJwt: { value: false },
        tokens: { value: { accessTokenTtlSeconds: 1200 } },
        requestLog: { value: false },
        portal: { value: { listed: false } },
        whenRedisUnavailable: { value: 'fail-closed' },
      },
      elsewhere: { mtls: 'needs gateway client CAs: test/gateway-tls.test.ts' },
    },
    {
      path: '/apps',
      schema: appPatchSchema,
      create: () => created('/apps', { name: `shop ${uniq()}`, owner: 'ops@acme.example', metadata: { tier: 'gold' } }),
      samples: { name: { value: 'Shop app 2' }, owner: { value: null }, metadata: { value: { tier: 'silver' } } },
    },
    {
      path: '/policies',
      schema: policyPatchSchema,
      create: () =>
        created('/policies', {
          name: `bronze ${uniq()}`,
          access: [{ apiId, methods: ['GET'] }],
          rateLimits: [{ name: 'burst', limit: 5, windowSeconds: 1 }],
          quota: { limit: 3, period: 'day' },
          ipAllowlist: ['10.0.0.0/8'],
          scopes: ['orders:read'],
        }),
      samples: {
        name: { value: 'bronze2' },
        access: { value: [{ apiId }] },
        rateLimits: { value: null },
        quota: { value: { limit: 4, period: 'month' } },
        ipAllowlist: { value: ['192.0.2.0/24'] },
        scopes: { value: [] },
        rotation: { value: { periodDays: 90, noticeDays: 14 } },
      },
    },
    {
      path: '/keys',
      schema: keyPatchSchema,
      create: () =>
        created('/keys', {
          appId,
          name: 'ci',
          policyId,
          metadata: { team: 'a' },
          expiresInSeconds: 86_400,
          access: [{ apiId }],
          rateLimits: [{ name: 'burst', limit: 9, windowSeconds: 1 }],
          quota: { limit: 100, period: 'day' },
          ipAllowlist: ['127.0.0.1'],
          scopes: ['orders:read'],
        }),
      samples: {
        name: { value: 'deploy' },
        policyId: { value: null },
        enabled: { value: false, alsoChanges: ['status'] },
        expiresAt: { value: new Date(Date.now() + 7 * 86_400_000).toISOString() },
        expiresInSeconds: { value: 3600, alsoChanges: ['expiresAt'] },
        metadata: { value: { team: 'b' } },
        access: { value: null },
        rateLimits: { value: [{ name: 'burst', limit: 10, windowSeconds: 1 }] },
        quota: { value: null, alsoChanges: ['quota'] },
        ipAllowlist: { value: null },
        scopes: { value: ['orders:write'] },
        certificateThumbprint: { value: 'A'.repeat(43) },
        rotation: { value: { periodDays: 30 }, alsoChanges: ['rotationDueAt'] },
      },
      elsewhere: { allowedOrigins: 'publishable keys only: test/gateway-publishable.test.ts' },
      derived: ['quota', 'lastUsedAt'],
    },
    {
      path: '/users',
      schema: userPatchSchema,
      create: () =>
        created('/users', { username: `u${uniq()}@example.com`, name: 'Ada', password: 'correct horse battery staple', roles: ['staff'], mfaRequired: true }),
      samples: {
        name: { value: null },
        password: { value: 'another long passphrase here' },
        roles: { value: ['admin'] },
        disabled: { value: true },
        // mfa.required says whether a second factor is required now, which this flag decides here.
        mfaRequired: { value: false, alsoChanges: ['mfa'] },
        consoleRole: { value: 'auditor' },
      },
    },
    {
      path: '/clients',
      schema: clientPatchSchema,
      create: () =>
        created('/clients', {
          name: `web ${uniq()}`,
          redirectUris: ['https://app.example/cb'],
          postLogoutRedirectUris: ['https://app.example/bye'],
          grantTypes: ['authorization_code', 'refresh_token'],
          scopes: ['openid'],
          apiIds: [apiId],
          firstParty: true,
          dpopBound: false,
          exchangeAppId: null,
          accessTokenTtlSeconds: 600,
        }),
      samples: {
        name: { value: 'web renamed' },
        redirectUris: { value: ['https://app.example/cb2'] },
        postLogoutRedirectUris: { value: [] },
        grantTypes: { value: ['authorization_code'] },
        scopes: { value: ['openid', 'email'] },
        apiIds: { value: [] },
        firstParty: { value: false },
        dpopBound: { value: true },
        exchangeAppId: { value: null, alsoChanges: [] },
        accessTokenTtlSeconds: { value: null },
        disabled: { value: true },
      },
    },
  ];

  test('the OpenAPI document says PATCH bodies are RFC 7396 merge patches', async () => {
    const doc = (await (await fetch(`${h.gh.controlUrl}/admin/v1/openapi.json`)).json()) as any;
    const body = doc.paths['/apis/{id}'].patch.requestBody;
    assert.match(body.description, /RFC 7396/);
    assert.ok(body.content['application/merge-patch+json']);
  });

  test("audit entries show the admin API's shape: seconds and RFC 3339 times, never milliseconds or hashes", async () => {
    const id = await created('/policies', { name: `audited ${uniq()}`, access: [{ apiId }], rateLimits: [{ name: 'burst', limit: 5, windowSeconds: 1 }] });
    await h.admin('PATCH', `/policies/${id}`, { rateLimits: [{ name: 'burst', limit: 5, windowSeconds: 2 }] });
    const [update, create] = (await h.admin('GET', `/audit?targetId=${id}`)).body.items;
    assert.deepEqual(update.before, { rateLimits: [{ name: 'burst', limit: 5, windowSeconds: 1 }] });
    assert.deepEqual(update.after, { rateLimits: [{ name: 'burst', limit: 5, windowSeconds: 2 }] });
    assert.match(create.after.createdAt, /^\d{4}-\d\d-\d\dT/);
    const all = JSON.stringify((await h.admin('GET', '/audit?limit=100')).body);
    assert.doesNotMatch(all, /windowMs|"hash"|"pepperId"|"timeoutMs"/);
  });

  test('every field of every PATCH schema has a sample here (a new field must join this test)', () => {
    for (const r of resources()) {
      const covered = new Set([...Object.keys(r.samples), ...Object.keys(r.elsewhere ?? {})]);
      assert.deepEqual(
        Object.keys(r.schema.shape).filter((f) => !covered.has(f)),
        [],
        r.path,
      );
    }
  });

  for (const { path, samples } of resources()) {
    for (const field of Object.keys(samples)) {
      test(`${path}: PATCH {${field}} changes only ${field}`, async () => {
        // Samples are read now: they name objects made in before().
        const r = resources().find((x) => x.path === path)!;
        const sample = r.samples[field]!;
        const id = await r.create();
        const before = (await h.admin('GET', `${r.path}/${id}`)).body;
        const res = await h.admin('PATCH', `${r.path}/${id}`, { [field]: sample.value });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const afterPatch = (await h.admin('GET', `${r.path}/${id}`)).body;
        const mayChange = new Set([field, 'updatedAt', ...(sample.alsoChanges ?? []), ...(r.derived ?? [])]);
        const moved = Object.keys({ ...before, ...afterPatch }).filter((f) => !mayChange.has(f) && JSON.stringify(before[f]) !== JSON.stringify(afterPatch[f]));
        assert.deepEqual(
          moved,
          [],
          `fields that moved: ${moved.map((f) => `${f}: ${JSON.stringify(before[f])} -> ${JSON.stringify(afterPatch[f])}`).join('; ')}`,
        );
        const entry = (await h.admin('GET', `/audit?targetId=${id}&limit=1`)).body.items[0];
        const audited = Object.keys(entry.after ?? {});
        assert.ok(
          audited.every((f) => mayChange.has(f) && f !== 'updatedAt'),
          `audit lists ${audited.join(', ')}`,
        );
        assert.deepEqual(Object.keys(entry.before ?? {}).sort(), audited.sort());
      });
    }
  }
});

describe('PATCH with null removes a member, at the top level too (RFC 7396 §2): its default applies', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startAuthHarness();
  });
  after(() => h.close());

  test('an API’s optional settings go back to their defaults; a required one cannot be removed', async () => {
    const made = await h.admin('POST', '/apis', {
      name: 'tuned',
      listenPath: '/tuned',
      upstreamUrl: h.upstream.url,
      timeoutSeconds: 5,
      pathCase: 'insensitive',
      requestLog: false,
      whenRedisUnavailable: 'local',
      portal: { listed: true, description: 'Tuned' },
      tokens: { accessTokenTtlSeconds: 600 },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const cleared = await h.admin('PATCH', `/apis/${made.body.id}`, {
      timeoutSeconds: null,
      pathCase: null,
      requestLog: null,
      whenRedisUnavailable: null,
      portal: null,
      tokens: null,
    });
    assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
    const b = cleared.body;
    assert.deepEqual(
      [b.timeoutSeconds, b.pathCase, b.requestLog, b.whenRedisUnavailable, b.portal, b.tokens.accessTokenTtlSeconds],
      [30, 'sensitive', true, undefined, { listed: false, description: null }, 900],
    );
    assert.equal(b.name, 'tuned', 'what the patch left out is kept');
    const refused = await h.admin('PATCH', `/apis/${made.body.id}`, { upstreamUrl: null });
    assert.equal(refused.status, 400);
    assert.equal((await h.admin('GET', `/apis/${made.body.id}`)).body.upstreamUrl, h.upstream.url);
  });

  test('an app’s metadata removed is empty', async () => {
    const app = await h.admin('POST', '/apps', { name: 'with metadata', metadata: { team: 'a' } });
    const cleared = await h.admin('PATCH', `/apps/${app.body.id}`, { metadata: null });
    assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
    assert.deepEqual(cleared.body.metadata, {});
  });
});
