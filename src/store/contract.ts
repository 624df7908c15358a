import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { AdminKey, Api, ApiKey, App, AuditEntry, AuditInput, Policy } from '../domain/entities.ts';
import { newId } from '../domain/ids.ts';
import { authorizationContract } from './contract-authorization.ts';
import { keyAddressContract } from './contract-key-addresses.ts';
import { requestLogContract } from './contract-request-log.ts';
import { ConflictError, type AuditQuery, type EntityRepo, type KeyListQuery, type Store } from './port.ts';

const T0 = Date.UTC(2026, 10, 29, 12);
let seq = 0;
/** Ids with distinct, increasing timestamps, so creation order is id order. */
const id = (kind: Parameters<typeof newId>[0]) => newId(kind, T0 + ++seq);

const makeApi = (n: number): Api => ({
  id: id('api'),
  name: `api-${n}`,
  listenPath: `/api-${n}`,
  upstreamUrl: `http://127.0.0.1:9/${n}`,
  auth: { type: 'apiKey', scopes: [] },
  tokens: { audience: `urn:gatehouse:api:api-${n}`, accessTokenTtlSeconds: 900 },
  timeoutMs: 5000,
  createdAt: T0,
  updatedAt: T0,
});
const makeApp = (n: number): App => ({ id: id('app'), name: `app-${n}`, owner: null, metadata: { n }, createdAt: T0, updatedAt: T0 });
const makePolicy = (n: number, settings: Partial<Policy> = {}): Policy => ({
  id: id('policy'),
  name: `policy-${n}`,
  access: null,
  rateLimits: [{ name: 'rps', limit: n + 1, windowMs: 1000 }],
  quota: null,
  ipAllowlist: null,
  scopes: null,
  createdAt: T0,
  updatedAt: T0,
  ...settings,
});
const makeKey = (appId: string, overrides: Partial<ApiKey> = {}): ApiKey => keyRecord(appId, { id: id('key'), ...overrides });

/** A stored key record with every field set, for tests: no policy, no settings, active, never used. */
export function keyRecord(appId: string, overrides: Partial<ApiKey> = {}, at = T0): ApiKey {
  const keyId = overrides.id ?? newId('key', at);
  return {
    id: keyId,
    appId,
    policyId: null,
    name: `key-${keyId}`,
    environment: 'live',
    start: 'gk_live_abcd',
    hash: `hash-${keyId}`,
    pepperId: 'p1',
    enabled: true,
    expiresAt: null,
    revokedAt: null,
    revokedReason: null,
    rotatedFrom: null,
    replacedBy: null,
    metadata: {},
    access: null,
    rateLimits: null,
    quota: null,
    ipAllowlist: null,
    scopes: null,
    createdAt: at,
    updatedAt: at,
    lastUsedAt: null,
    ...overrides,
  };
}
const makeAdminKey = (n: number): AdminKey => {
  const keyId = id('adminKey');
  return {
    id: keyId,
    name: `admin-${n}`,
    start: 'gka_live_abcd',
    hash: `admin-hash-${keyId}`,
    pepperId: 'p1',
    permissions: ['keys:read'],
    createdAt: T0,
    revokedAt: null,
  };
};
export const audit = (action: string, targetType: AuditEntry['targetType'], targetId: string, after: unknown = null): AuditInput => ({
  actor: 'admin_key:adk_test',
  action,
  targetType,
  targetId,
  before: null,
  after,
  requestId: 'req-1',
});

/** Every audit entry matching the query, by following cursors with a small page size. */
export async function allAudit(store: Store, query: Omit<AuditQuery, 'limit'> = {}): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.audit.list({ ...query, limit: 2, cursor });
    entries.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return entries;
}

async function allKeyIds(store: Store, query: Omit<KeyListQuery, 'limit' | 'now'> & { now?: number }): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.keys.list({ now: T0, ...query, limit: 2, cursor });
    ids.push(...page.items.map((k) => k.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

/**
 * The behaviour every Store adapter must show, unchanged. `open` returns a fresh, empty, migrated
 * store for each test; the suite closes it.
 */
export function runStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    entityContract(
      'apis',
      'api',
      () => store,
      (s) => s.apis,
      makeApi,
      (a) => ({ ...a, upstreamUrl: 'http://127.0.0.1:9/new', updatedAt: T0 + 5 }),
    );
    entityContract(
      'apps',
      'app',
      () => store,
      (s) => s.apps,
      makeApp,
      (a) => ({ ...a, owner: 'team-x', updatedAt: T0 + 5 }),
    );
    entityContract(
      'policies',
      'policy',
      () => store,
      (s) => s.policies,
      (n) => makePolicy(n),
      (p) => ({ ...p, scopes: ['read'], updatedAt: T0 + 5 }),
    );
    describe('names', () => {
      test('apis, apps and policies list only what has exactly the name asked for, in pages', async () => {
        const [api, other] = [makeApi(1), makeApi(2)];
        for (const a of [api, other]) await store.apis.create(a, audit('api.created', 'api', a.id, a));
        assert.deepEqual((await store.apis.list({ limit: 10, name: api.name })).items, [api]);
        assert.deepEqual((await store.apis.list({ limit: 10, name: api.name.toUpperCase() })).items, []);
        assert.deepEqual((await store.apis.list({ limit: 10, name: api.name.slice(0, -1) })).items, []);
        // App names need not be unique: every app of the name is listed, paged like any list.
        const twins = [{ ...makeApp(1), name: 'twin' }, { ...makeApp(2), name: 'twin' }, makeApp(3)];
        for (const a of twins) await store.apps.create(a, audit('app.created', 'app', a.id, a));
        const first = await store.apps.list({ limit: 1, name: 'twin' });
        assert.deepEqual(first.items, [twins[0]]);
        const second = await store.apps.list({ limit: 1, name: 'twin', cursor: first.nextCursor ?? undefined });
        assert.deepEqual(second.items, [twins[1]]);
        assert.equal(second.nextCursor, null);
        const policy = makePolicy(1);
        await store.policies.create(policy, audit('policy.created', 'policy', policy.id, policy));
        assert.deepEqual((await store.policies.list({ limit: 10, name: policy.name })).items, [policy]);
      });
    });

    describe('unique names', () => {
      test('a second api with a taken name or listen path throws ConflictError and writes nothing', async () => {
        const first = makeApi(1);
        await store.apis.create(first, audit('api.created', 'api', first.id));
        const sameName = { ...makeApi(2), name: first.name };
        const samePath = { ...makeApi(3), listenPath: first.listenPath };
        await assert.rejects(store.apis.create(sameName, audit('api.created', 'api', sameName.id)), ConflictError);
        await assert.rejects(store.apis.create(samePath, audit('api.created', 'api', samePath.id)), ConflictError);
        assert.equal(await store.apis.get(sameName.id), null);
        assert.equal(await store.apis.get(samePath.id), null);
        assert.equal((await allAudit(store)).length, 1);
      });

      test('updating an api to a taken name or listen path throws ConflictError and keeps the old values', async () => {
        const [a, b] = [makeApi(1), makeApi(2)];
        await store.apis.create(a, audit('api.created', 'api', a.id));
        await store.apis.create(b, audit('api.created', 'api', b.id));
        await assert.rejects(store.apis.update({ ...b, name: a.name }, audit('api.updated', 'api', b.id)), ConflictError);
        await assert.rejects(store.apis.update({ ...b, listenPath: a.listenPath }, audit('api.updated', 'api', b.id)), ConflictError);
        assert.deepEqual(await store.apis.get(b.id), b);
        assert.equal((await allAudit(store, { action: 'api.updated' })).length, 0);
      });

      test('a second policy with a taken name throws ConflictError', async () => {
        const first = makePolicy(1);
        await store.policies.create(first, audit('policy.created', 'policy', first.id));
        const again = { ...makePolicy(2), name: first.name };
        await assert.rejects(store.policies.create(again, audit('policy.created', 'policy', again.id)), ConflictError);
      });
    });

    test('apis.all returns every api in creation order', async () => {
      const created = [makeApi(1), makeApi(2), makeApi(3)];
      for (const api of created) await store.apis.create(api, audit('api.created', 'api', api.id));
      assert.deepEqual(await store.apis.all(), created);
    });

    describe('keys', () => {
      let app: App;
      beforeEach(async () => {
        app = makeApp(1);
        await store.apps.create(app, audit('app.created', 'app', app.id));
      });
      const createKey = async (overrides: Partial<ApiKey> = {}) => {
        const key = makeKey(app.id, overrides);
        await store.keys.create(key, audit('key.created', 'key', key.id));
        return key;
      };

      test('a created key is found by id and by hash; unknown ones are null', async () => {
        const key = await createKey({ access: [{ apiId: 'api_x', methods: ['GET'] }], metadata: { team: 'a' } });
        assert.deepEqual(await store.keys.get(key.id), key);
        assert.deepEqual(await store.keys.findByHash(key.hash), key);
        assert.equal(await store.keys.findByHash('no-such-hash'), null);
        assert.equal(await store.keys.get('key_unknown'), null);
      });

      test('a second key with the same hash throws ConflictError', async () => {
        const key = await createKey();
        await assert.rejects(store.keys.create(makeKey(app.id, { hash: key.hash }), audit('key.created', 'key', 'x')), ConflictError);
      });

      test('update replaces a key and returns false for an unknown id', async () => {
        const key = await createKey();
        const changed = { ...key, name: 'renamed', enabled: false, updatedAt: T0 + 9 };
        assert.equal(await store.keys.update(changed, audit('key.updated', 'key', key.id)), true);
        assert.deepEqual(await store.keys.get(key.id), changed);
        assert.equal(await store.keys.update(makeKey(app.id), audit('key.updated', 'key', 'x')), false);
      });

      test('list filters by app and environment and pages with a cursor', async () => {
        const other = makeApp(2);
        await store.apps.create(other, audit('app.created', 'app', other.id));
        const live = [await createKey(), await createKey(), await createKey()];
        const test_ = await createKey({ environment: 'test' });
        const elsewhere = makeKey(other.id);
        await store.keys.create(elsewhere, audit('key.created', 'key', elsewhere.id));
        assert.deepEqual(
          await allKeyIds(store, { appId: app.id }),
          [...live, test_].map((k) => k.id),
        );
        assert.deepEqual(
          await allKeyIds(store, { appId: app.id, environment: 'live' }),
          live.map((k) => k.id),
        );
        assert.deepEqual(await allKeyIds(store, { environment: 'test' }), [test_.id]);
        assert.deepEqual(
          await allKeyIds(store, {}),
          [...live, test_, elsewhere].map((k) => k.id),
        );
      });

      test('list by api finds keys with a rule for it, and keys without rules whose policy has one', async () => {
        const policy = makePolicy(1, { access: [{ apiId: 'api_a' }] });
        await store.policies.create(policy, audit('policy.created', 'policy', policy.id));
        const direct = await createKey({ access: [{ apiId: 'api_b' }, { apiId: 'api_a', methods: ['GET'] }] });
        const inherited = await createKey({ policyId: policy.id });
        await createKey({ policyId: policy.id, access: [{ apiId: 'api_b' }] });
        await createKey({ policyId: policy.id, access: [] });
        await createKey();
        assert.deepEqual(await allKeyIds(store, { apiId: 'api_a' }), [direct.id, inherited.id]);
        assert.equal((await allKeyIds(store, { apiId: 'api_b' })).length, 2);
        assert.deepEqual(await allKeyIds(store, { apiId: 'api_none' }), []);
      });

      test('list by status sorts keys as active, disabled, expired or revoked at `now`', async () => {
        const active = await createKey();
        const expiresLater = await createKey({ expiresAt: T0 + 1000 });
        const disabled = await createKey({ enabled: false });
        const expired = await createKey({ expiresAt: T0 });
        const expiredDisabled = await createKey({ enabled: false, expiresAt: T0 - 1 });
        const revoked = await createKey({ revokedAt: T0 - 1, revokedReason: 'leaked' });
        const revokedExpired = await createKey({ revokedAt: T0 - 1, expiresAt: T0 - 1, enabled: false });
        const ids = (keys: ApiKey[]) => keys.map((k) => k.id);
        assert.deepEqual(await allKeyIds(store, { status: 'active' }), ids([active, expiresLater]));
        assert.deepEqual(await allKeyIds(store, { status: 'disabled' }), ids([disabled]));
        assert.deepEqual(await allKeyIds(store, { status: 'expired' }), ids([expired, expiredDisabled]));
        assert.deepEqual(await allKeyIds(store, { status: 'revoked' }), ids([revoked, revokedExpired]));
        assert.deepEqual(await allKeyIds(store, { status: 'expired', now: T0 + 1000 }), ids([expiresLater, expired, expiredDisabled]));
        assert.deepEqual(await allKeyIds(store, { status: 'active', now: T0 + 1000 }), ids([active]));
      });

      test('list by exposure finds keys whose secret was seen in the clear, with or without a status', async () => {
        const exposed = await createKey({ exposedAt: T0 - 5 });
        const exposedRevoked = await createKey({ exposedAt: T0 - 5, revokedAt: T0 - 1, revokedReason: 'exposed' });
        const clean = await createKey();
        await createKey({ exposedAt: null });
        assert.deepEqual(await allKeyIds(store, { exposed: true }), [exposed.id, exposedRevoked.id]);
        assert.deepEqual(await allKeyIds(store, { exposed: true, status: 'active' }), [exposed.id]);
        assert.ok((await allKeyIds(store, { exposed: false })).includes(clean.id));
        assert.ok(!(await allKeyIds(store, { exposed: false })).includes(exposed.id));
      });

      test('rotate stores the successor and the updated predecessor with one audit entry', async () => {
        const previous = await createKey();
        const successor = makeKey(app.id, { rotatedFrom: previous.id });
        const updated = { ...previous, replacedBy: successor.id, expiresAt: T0 + 60_000, updatedAt: T0 + 1 };
        assert.equal(await store.keys.rotate(updated, successor, audit('key.rotated', 'key', previous.id)), true);
        assert.deepEqual(await store.keys.get(previous.id), updated);
        assert.deepEqual(await store.keys.findByHash(previous.hash), updated);
        assert.deepEqual(await store.keys.findByHash(successor.hash), successor);
        assert.equal((await allAudit(store, { action: 'key.rotated' })).length, 1);
      });

      test('rotate is atomic: a failing successor leaves the predecessor unchanged', async () => {
        const previous = await createKey();
        const taken = await createKey();
        const successor = makeKey(app.id, { hash: taken.hash });
        const updated = { ...previous, replacedBy: successor.id, updatedAt: T0 + 1 };
        await assert.rejects(store.keys.rotate(updated, successor, audit('key.rotated', 'key', previous.id)), ConflictError);
        assert.deepEqual(await store.keys.get(previous.id), previous);
        assert.equal(await store.keys.get(successor.id), null);
        assert.equal((await allAudit(store, { action: 'key.rotated' })).length, 0);
      });

      test('rotate returns false and stores nothing for an unknown predecessor', async () => {
        const ghost = makeKey(app.id);
        const successor = makeKey(app.id);
        assert.equal(await store.keys.rotate(ghost, successor, audit('key.rotated', 'key', ghost.id)), false);
        assert.equal(await store.keys.get(successor.id), null);
      });

      test('delete removes the key and its usage, and later usage for it is dropped', async () => {
        const key = await createKey();
        await store.usage.record({
          keys: [{ keyId: key.id, day: '2026-11-29', requests: 3, lastUsedAt: T0 }],
          quotas: [{ lineageId: key.id, period: '2026-11', delta: 3 }],
        });
        assert.equal(await store.keys.delete(key.id, audit('key.deleted', 'key', key.id)), true);
        assert.equal(await store.keys.get(key.id), null);
        assert.equal(await store.keys.findByHash(key.hash), null);
        assert.deepEqual(await store.usage.requestsByDay(key.id), []);
        assert.equal(await store.usage.quotaUsed(key.id, '2026-11'), 0);
        await store.usage.record({
          keys: [{ keyId: key.id, day: '2026-11-29', requests: 1, lastUsedAt: T0 }],
          quotas: [{ lineageId: key.id, period: '2026-11', delta: 1 }],
        });
        assert.deepEqual(await store.usage.requestsByDay(key.id), []);
        assert.equal(await store.usage.quotaUsed(key.id, '2026-11'), 0);
        assert.equal(await store.keys.delete(key.id, audit('key.deleted', 'key', key.id)), false);
      });

      test('quota use belongs to a key lineage: kept while any key of it remains, dropped with the last', async () => {
        const first = await createKey();
        const successor = await createKey({ rotatedFrom: first.id, lineageId: first.id });
        await store.usage.record({ keys: [], quotas: [{ lineageId: first.id, period: '2026-11', delta: 3 }] });
        assert.equal(await store.keys.delete(first.id, audit('key.deleted', 'key', first.id)), true);
        assert.equal(await store.usage.quotaUsed(first.id, '2026-11'), 3, 'the successor still spends it');
        await store.usage.record({ keys: [], quotas: [{ lineageId: first.id, period: '2026-11', delta: 1 }] });
        assert.equal(await store.usage.quotaUsed(first.id, '2026-11'), 4);
        assert.equal(await store.keys.delete(successor.id, audit('key.deleted', 'key', successor.id)), true);
        assert.equal(await store.usage.quotaUsed(first.id, '2026-11'), 0);
        await store.usage.record({ keys: [], quotas: [{ lineageId: first.id, period: '2026-11', delta: 1 }] });
        assert.equal(await store.usage.quotaUsed(first.id, '2026-11'), 0);
      });

      test('usage.record adds counter deltas per period, for quotas counted per app or user', async () => {
        await store.usage.record({ keys: [], quotas: [], counters: [{ counter: 'api:a:q:u:1', period: '2026-11', delta: 2 }] });
        await store.usage.record({
          keys: [],
          quotas: [],
          counters: [
            { counter: 'api:a:q:u:1', period: '2026-11', delta: 3 },
            { counter: 'api:a:q:u:2', period: '2026-11', delta: 1 },
          ],
        });
        assert.equal(await store.usage.counterUsed('api:a:q:u:1', '2026-11'), 5);
        assert.equal(await store.usage.counterUsed('api:a:q:u:2', '2026-11'), 1);
        assert.equal(await store.usage.counterUsed('api:a:q:u:1', '2026-12'), 0);
      });

      test('usage.record adds deltas per day and per quota period', async () => {
        const key = await createKey();
        const day = (d: string, requests: number) => ({ keyId: key.id, day: d, requests, lastUsedAt: T0 });
        await store.usage.record({ keys: [day('2026-11-29', 2), day('2026-11-28', 1)], quotas: [{ lineageId: key.id, period: '2026-11', delta: 2 }] });
        await store.usage.record({
          keys: [day('2026-11-29', 5)],
          quotas: [
            { lineageId: key.id, period: '2026-11', delta: 5 },
            { lineageId: key.id, period: '2026-12', delta: 1 },
          ],
        });
        assert.deepEqual(await store.usage.requestsByDay(key.id), [
          { day: '2026-11-28', requests: 1 },
          { day: '2026-11-29', requests: 7 },
        ]);
        assert.equal(await store.usage.quotaUsed(key.id, '2026-11'), 7);
        assert.equal(await store.usage.quotaUsed(key.id, '2026-12'), 1);
        assert.equal(await store.usage.quotaUsed(key.id, '2027-01'), 0);
      });

      test('lastUsedFrom is the address of the latest use; an older batch or an update cannot move it back', async () => {
        const key = await createKey();
        const used = (lastUsedAt: number, lastUsedFrom?: string) =>
          store.usage.record({ keys: [{ keyId: key.id, day: '2026-11-29', requests: 1, lastUsedAt, ...(lastUsedFrom ? { lastUsedFrom } : {}) }], quotas: [] });
        await used(T0 + 100, '192.0.2.1');
        await used(T0 + 50, '192.0.2.2');
        assert.equal((await store.keys.get(key.id))?.lastUsedFrom, '192.0.2.1');
        await used(T0 + 150);
        assert.equal((await store.keys.get(key.id))?.lastUsedFrom, '192.0.2.1', 'a use without an address keeps the last one known');
        await store.keys.update({ ...key, lastUsedFrom: '198.51.100.9', name: 'stale copy' }, audit('key.updated', 'key', key.id));
        assert.equal((await store.keys.findByHash(key.hash))?.lastUsedFrom, '192.0.2.1');
        await used(T0 + 200, '2001:db8::1');
        assert.equal((await store.keys.list({ limit: 10, now: T0 })).items.find((k) => k.id === key.id)?.lastUsedFrom, '2001:db8::1');
      });

      test('lastUsedAt only grows, and a key update does not move it back', async () => {
        const key = await createKey();
        const used = (lastUsedAt: number) => store.usage.record({ keys: [{ keyId: key.id, day: '2026-11-29', requests: 1, lastUsedAt }], quotas: [] });
        await used(T0 + 100);
        await used(T0 + 50);
        assert.equal((await store.keys.get(key.id))?.lastUsedAt, T0 + 100);
        assert.equal((await store.keys.findByHash(key.hash))?.lastUsedAt, T0 + 100);
        await store.keys.update({ ...key, name: 'stale copy' }, audit('key.updated', 'key', key.id));
        assert.equal((await store.keys.get(key.id))?.lastUsedAt, T0 + 100);
        await used(T0 + 200);
        const listed = await store.keys.list({ limit: 10, now: T0 });
        assert.equal(listed.items[0]?.lastUsedAt, T0 + 200);
      });
    });

    describe('admin keys', () => {
      test('a created admin key is found by hash and listed', async () => {
        const key = makeAdminKey(1);
        await store.adminKeys.create(key, audit('admin_key.created', 'admin_key', key.id));
        assert.deepEqual(await store.adminKeys.findByHash(key.hash), key);
        assert.equal(await store.adminKeys.findByHash('nope'), null);
        assert.deepEqual(await store.adminKeys.list(), [key]);
      });

      test('a second admin key with the same hash throws ConflictError', async () => {
        const key = makeAdminKey(1);
        await store.adminKeys.create(key, audit('admin_key.created', 'admin_key', key.id));
        await assert.rejects(store.adminKeys.create({ ...makeAdminKey(2), hash: key.hash }, audit('admin_key.created', 'admin_key', 'x')), ConflictError);
      });

      test('revoke sets revokedAt once; revoking again or an unknown key returns false', async () => {
        const key = makeAdminKey(1);
        await store.adminKeys.create(key, audit('admin_key.created', 'admin_key', key.id));
        assert.equal(await store.adminKeys.revoke(key.id, T0 + 7, audit('admin_key.revoked', 'admin_key', key.id)), true);
        assert.equal((await store.adminKeys.findByHash(key.hash))?.revokedAt, T0 + 7);
        assert.equal(await store.adminKeys.revoke(key.id, T0 + 8, audit('admin_key.revoked', 'admin_key', key.id)), false);
        assert.equal((await store.adminKeys.list())[0]?.revokedAt, T0 + 7);
        assert.equal(await store.adminKeys.revoke('adk_unknown', T0, audit('admin_key.revoked', 'admin_key', 'adk_unknown')), false);
        assert.equal((await allAudit(store, { action: 'admin_key.revoked' })).length, 1);
      });
    });

    describe('audit', () => {
      test('every change writes one audit entry with its actor, action, target and payload', async () => {
        const app = makeApp(1);
        const input: AuditInput = {
          actor: 'cli',
          action: 'app.created',
          targetType: 'app',
          targetId: app.id,
          before: null,
          after: { name: app.name },
          requestId: 'req-42',
        };
        await store.apps.create(app, input);
        await store.apps.update({ ...app, name: 'b' }, audit('app.updated', 'app', app.id));
        await store.apps.delete(app.id, audit('app.deleted', 'app', app.id));
        const entries = await allAudit(store, { targetId: app.id });
        assert.deepEqual(entries.map((e) => e.action).sort(), ['app.created', 'app.deleted', 'app.updated']);
        const created = entries.find((e) => e.action === 'app.created');
        assert.ok(created);
        const { id: auditId, at, ...rest } = created;
        assert.deepEqual(rest, input);
        assert.equal(typeof auditId, 'string');
        assert.ok(Number.isFinite(at) && at > 0);
      });

      test('audit.list is newest first, pages with a cursor and filters by target and action', async () => {
        const apps = [makeApp(1), makeApp(2), makeApp(3)];
        for (const app of apps) await store.apps.create(app, audit('app.created', 'app', app.id));
        await store.apps.update({ ...apps[0]!, name: 'x' }, audit('app.updated', 'app', apps[0]!.id));
        const all = await allAudit(store);
        assert.deepEqual(
          all.map((e) => [e.action, e.targetId]),
          [
            ['app.updated', apps[0]!.id],
            ['app.created', apps[2]!.id],
            ['app.created', apps[1]!.id],
            ['app.created', apps[0]!.id],
          ],
        );
        assert.equal(new Set(all.map((e) => e.id)).size, 4);
        assert.deepEqual(
          (await allAudit(store, { targetId: apps[0]!.id })).map((e) => e.action),
          ['app.updated', 'app.created'],
        );
        assert.deepEqual(
          (await allAudit(store, { action: 'app.created' })).map((e) => e.targetId),
          [apps[2]!.id, apps[1]!.id, apps[0]!.id],
        );
        const firstPage = await store.audit.list({ limit: 4 });
        assert.equal(firstPage.items.length, 4);
        assert.equal(firstPage.nextCursor, null);
      });
    });

    authorizationContract(() => store, { T0, entityContract, audit: audit, allAudit });
    requestLogContract(() => store, T0);
    keyAddressContract(() => store, T0);

    describe('migrate', () => {
      test('migrating a migrated store runs nothing and keeps its data', async () => {
        const app = makeApp(1);
        await store.apps.create(app, audit('app.created', 'app', app.id));
        assert.equal(await store.migrate(), 0);
        assert.equal(await store.migrate(), 0);
        assert.deepEqual(await store.apps.get(app.id), app);
      });
    });
  });
}

/** Create, get, list, update and delete with audit: the same for apis, apps and policies. */
export function entityContract<T extends { id: string }>(
  label: string,
  targetType: AuditEntry['targetType'],
  current: () => Store,
  repoOf: (store: Store) => EntityRepo<T>,
  make: (n: number) => T,
  change: (entity: T) => T,
): void {
  const entry = (action: string, entity: T) => audit(`${targetType}.${action}`, targetType, entity.id, entity);
  describe(label, () => {
    test('a created entity is returned by get; an unknown id gives null', async () => {
      const repo = repoOf(current());
      const entity = make(1);
      await repo.create(entity, entry('created', entity));
      assert.deepEqual(await repo.get(entity.id), entity);
      assert.equal(await repo.get(`${entity.id}0`), null);
    });

    test('list returns every entity once, in creation order, across cursor pages', async () => {
      const repo = repoOf(current());
      const created = [1, 2, 3, 4, 5].map(make);
      for (const entity of created) await repo.create(entity, entry('created', entity));
      const first = await repo.list({ limit: 2 });
      const second = await repo.list({ limit: 2, cursor: first.nextCursor ?? undefined });
      const third = await repo.list({ limit: 2, cursor: second.nextCursor ?? undefined });
      assert.deepEqual([...first.items, ...second.items, ...third.items], created);
      assert.notEqual(first.nextCursor, null);
      assert.notEqual(second.nextCursor, null);
      assert.equal(third.nextCursor, null);
      assert.equal((await repo.list({ limit: 5 })).nextCursor, null);
    });

    test('update replaces the entity and returns false for an unknown id without an audit entry', async () => {
      const repo = repoOf(current());
      const entity = make(1);
      await repo.create(entity, entry('created', entity));
      const changed = change(entity);
      assert.equal(await repo.update(changed, entry('updated', changed)), true);
      assert.deepEqual(await repo.get(entity.id), changed);
      const ghost = make(2);
      assert.equal(await repo.update(ghost, entry('updated', ghost)), false);
      assert.equal(await repo.get(ghost.id), null);
      assert.equal((await allAudit(current(), { action: `${targetType}.updated` })).length, 1);
    });

    test('delete removes the entity once; deleting again returns false', async () => {
      const repo = repoOf(current());
      const entity = make(1);
      await repo.create(entity, entry('created', entity));
      assert.equal(await repo.delete(entity.id, entry('deleted', entity)), true);
      assert.equal(await repo.get(entity.id), null);
      assert.equal(await repo.delete(entity.id, entry('deleted', entity)), false);
      assert.deepEqual((await repo.list({ limit: 10 })).items, []);
      assert.equal((await allAudit(current(), { targetId: entity.id })).length, 2);
    });
  });
}
