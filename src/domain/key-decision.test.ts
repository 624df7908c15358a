import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ApiKey, KeySettings, Policy } from './entities.ts';
import { checkKey, compileKey, effectiveSettings, SettingsCompiler } from './key-decision.ts';

const NOW = Date.UTC(2026, 10, 29, 12);

function makeKey(overrides: Partial<ApiKey> = {}): ApiKey {
  return {
    id: 'key_1',
    appId: 'app_1',
    policyId: null,
    name: 'k',
    environment: 'live',
    start: 'gk_live_abcd',
    hash: 'h',
    pepperId: 'p1',
    enabled: true,
    expiresAt: null,
    revokedAt: null,
    revokedReason: null,
    rotatedFrom: null,
    replacedBy: null,
    metadata: {},
    createdAt: NOW - 1000,
    updatedAt: NOW - 1000,
    lastUsedAt: null,
    access: [{ apiId: 'api_a', methods: ['GET'], paths: ['/items/*'] }],
    rateLimits: null,
    quota: null,
    ipAllowlist: ['10.0.0.0/8'],
    scopes: ['read'],
    ...overrides,
  };
}

function makePolicy(settings: Partial<KeySettings>): Policy {
  return { id: 'pol_1', name: 'p', createdAt: NOW, updatedAt: NOW, access: null, rateLimits: null, quota: null, ipAllowlist: null, scopes: null, ...settings };
}

const goodFacts = { apiId: 'api_a', method: 'GET', path: '/items/1', ip: '10.1.1.1', requiredScopes: ['read'] };
const check = (key: ApiKey, facts: Parameters<typeof checkKey>[1] = goodFacts, policy: Policy | null = null) => checkKey(compileKey(key, policy), facts, NOW);

describe('checkKey', () => {
  test('a key that passes every check is VALID', () => {
    assert.equal(check(makeKey()), 'VALID');
  });

  test('REVOKED comes before DISABLED, EXPIRED and FORBIDDEN', () => {
    const key = makeKey({ revokedAt: NOW - 1, enabled: false, expiresAt: NOW - 1 });
    assert.equal(check(key, { ...goodFacts, apiId: 'api_other' }), 'REVOKED');
  });

  test('a revocation scheduled in the future does not revoke yet', () => {
    assert.equal(check(makeKey({ revokedAt: NOW + 1 })), 'VALID');
    assert.equal(check(makeKey({ revokedAt: NOW })), 'REVOKED');
  });

  test('DISABLED comes before EXPIRED and FORBIDDEN', () => {
    const key = makeKey({ enabled: false, expiresAt: NOW - 1 });
    assert.equal(check(key, { ...goodFacts, apiId: 'api_other' }), 'DISABLED');
  });

  test('EXPIRED comes before FORBIDDEN, and a key expires at its expiry instant', () => {
    assert.equal(check(makeKey({ expiresAt: NOW }), { ...goodFacts, apiId: 'api_other' }), 'EXPIRED');
    assert.equal(check(makeKey({ expiresAt: NOW + 1 })), 'VALID');
  });

  test('an api, method or path outside the access rules is FORBIDDEN before INSUFFICIENT_SCOPE', () => {
    const facts = { ...goodFacts, requiredScopes: ['write'] };
    assert.equal(check(makeKey(), { ...facts, apiId: 'api_other' }), 'FORBIDDEN');
    assert.equal(check(makeKey(), { ...facts, method: 'DELETE' }), 'FORBIDDEN');
    assert.equal(check(makeKey(), { ...facts, path: '/other' }), 'FORBIDDEN');
  });

  test('an address outside the IP allowlist, or an unknown address, is FORBIDDEN before INSUFFICIENT_SCOPE', () => {
    const facts = { ...goodFacts, requiredScopes: ['write'] };
    assert.equal(check(makeKey(), { ...facts, ip: '192.0.2.1' }), 'FORBIDDEN');
    const { ip: _ip, ...noIp } = facts;
    assert.equal(check(makeKey(), noIp), 'FORBIDDEN');
  });

  test('a missing required scope is INSUFFICIENT_SCOPE', () => {
    assert.equal(check(makeKey(), { ...goodFacts, requiredScopes: ['read', 'write'] }), 'INSUFFICIENT_SCOPE');
  });

  test('without an apiId the access rules are not checked', () => {
    const { apiId: _a, ...facts } = goodFacts;
    assert.equal(check(makeKey({ access: [] }), facts), 'VALID');
  });

  test('a key without access rules of its own or from a policy is FORBIDDEN for every api', () => {
    assert.equal(check(makeKey({ access: null })), 'FORBIDDEN');
    assert.equal(check(makeKey({ access: [] }), goodFacts, makePolicy({ access: [{ apiId: 'api_a' }] })), 'FORBIDDEN');
  });

  test('a key without an IP allowlist accepts any address', () => {
    assert.equal(check(makeKey({ ipAllowlist: null }), { ...goodFacts, ip: '203.0.113.9' }), 'VALID');
  });
});

describe('effectiveSettings', () => {
  test('settings on the key win over the policy field by field', () => {
    const key = makeKey({ access: null, rateLimits: [{ name: 'k', limit: 1, windowMs: 1000 }], quota: null, ipAllowlist: null, scopes: ['k'] });
    const policy = makePolicy({
      access: [{ apiId: 'api_p' }],
      rateLimits: [{ name: 'p', limit: 9, windowMs: 1000 }],
      quota: { limit: 100, period: 'day' },
      ipAllowlist: ['10.0.0.0/8'],
      scopes: ['p'],
    });
    assert.deepEqual(effectiveSettings(key, policy), {
      access: [{ apiId: 'api_p' }],
      rateLimits: [{ name: 'k', limit: 1, windowMs: 1000 }],
      quota: { limit: 100, period: 'day' },
      ipAllowlist: ['10.0.0.0/8'],
      scopes: ['k'],
    });
  });

  test('nothing set anywhere gives no access, no limits and no scopes', () => {
    const none = { access: null, rateLimits: null, quota: null, ipAllowlist: null, scopes: null };
    assert.deepEqual(effectiveSettings(none, null), { access: [], rateLimits: [], quota: null, ipAllowlist: null, scopes: [] });
  });
});

describe('compileKey', () => {
  test('a key inherits access, IP allowlist and scopes from its policy', () => {
    const key = makeKey({ access: null, ipAllowlist: null, scopes: null, policyId: 'pol_1' });
    const policy = makePolicy({ access: [{ apiId: 'api_p' }], ipAllowlist: ['192.0.2.0/24'], scopes: ['admin'] });
    const compiled = compileKey(key, policy);
    assert.equal(checkKey(compiled, { apiId: 'api_p', ip: '192.0.2.5', requiredScopes: ['admin'] }, NOW), 'VALID');
    assert.equal(checkKey(compiled, { apiId: 'api_a', ip: '192.0.2.5' }, NOW), 'FORBIDDEN');
    assert.equal(checkKey(compiled, { apiId: 'api_p', ip: '10.0.0.1' }, NOW), 'FORBIDDEN');
  });

  test('the compiled key carries the effective rate limits and quota', () => {
    const policy = makePolicy({ rateLimits: [{ name: 'p', limit: 2, windowMs: 1000 }], quota: { limit: 5, period: 'month' } });
    const compiled = compileKey(makeKey({ rateLimits: null, quota: null }), policy);
    assert.deepEqual(compiled.settings.rateLimits, [{ name: 'p', limit: 2, windowMs: 1000 }]);
    assert.deepEqual(compiled.settings.quota, { limit: 5, period: 'month' });
  });

  test('keys with equal settings share one compiled copy; different settings do not; each key keeps only what its checks read', () => {
    const compiler = new SettingsCompiler();
    const a = compileKey(makeKey({ id: 'key_a', name: 'first', metadata: { team: 'x' } }), null, compiler);
    const b = compileKey(makeKey({ id: 'key_b', appId: 'app_2' }), null, compiler);
    const c = compileKey(makeKey({ id: 'key_c', scopes: ['write'] }), null, compiler);
    assert.equal(a.settings, b.settings);
    assert.notEqual(a.settings, c.settings);
    assert.equal(checkKey(c, goodFacts, NOW), 'INSUFFICIENT_SCOPE');
    assert.equal(checkKey(b, goodFacts, NOW), 'VALID');
    // The fields its checks read (absent ones as undefined, for one shape), none of the rest: no name, metadata or hash.
    const kept = ['allowedOrigins', 'appId', 'certificateThumbprint', 'enabled', 'expiresAt', 'id', 'lineageId', 'publishable', 'revokedAt', 'settings'];
    assert.deepEqual(Object.keys(a).sort(), kept);
    assert.deepEqual(Object.keys(b), Object.keys(c), 'every key has one shape');
    assert.deepEqual([b.id, b.appId], ['key_b', 'app_2']);
  });

  test('a full settings compiler starts over and still compiles correctly', () => {
    const compiler = new SettingsCompiler(2);
    const keys = ['a', 'b', 'c', 'd'].map((scope) => compileKey(makeKey({ scopes: [scope] }), null, compiler));
    for (const [i, scope] of ['a', 'b', 'c', 'd'].entries()) assert.equal(checkKey(keys[i]!, { ...goodFacts, requiredScopes: [scope] }, NOW), 'VALID');
  });
});
