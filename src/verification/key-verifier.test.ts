import { DEFAULT_EXPOSURE_POLICY } from '../domain/exposure-policy.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Api, ApiKey, App, AuditInput } from '../domain/entities.ts';
import { newId } from '../domain/ids.ts';
import { createPepper, hashKey, type Pepper } from '../domain/key-hash.ts';
import { generateKey } from '../domain/key-format.ts';
import type { ControlContext } from '../control/context.ts';
import { keyCreateSchema } from '../domain/inputs/resources.ts';
import { keysService } from '../control/services/keys.ts';
import { createLocalChangeBus, type ChangeBus } from '../events/change-bus.ts';
import { IdentityLimits } from '../limits/identity-limits.ts';
import { MemoryLimiter } from '../limits/memory-limiter.ts';
import type { Store } from '../store/port.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { UsageRecorder } from '../usage/usage-recorder.ts';
import { periodWindow } from '../domain/quota-period.ts';
import { KEY_CACHE_REFRESH, KeyVerifier } from './key-verifier.ts';
import type { Verification } from './port.ts';
import { keyRecord } from '../store/contract/fixtures.ts';
import pino from 'pino';
import { StorageUnavailableError } from '../store/port.ts';
import { Health } from '../telemetry/health.ts';

const NOW = Date.UTC(2026, 10, 29, 12);
const PEPPER = createPepper(Buffer.from('key-verifier-test-pepper-0123456789'));
const audit = (targetId: string): AuditInput => ({ actor: 'test', action: 'created', targetType: 'key', targetId, before: null, after: null, requestId: null });
const FACTS = { apiId: 'api_orders', method: 'GET', path: '/items', ip: '127.0.0.1' };

describe('KeyVerifier: lookup by key id (the parent key of an exchanged token)', () => {
  let dir: string;
  let store: Store;
  let changes: ChangeBus;
  let verifier: KeyVerifier;
  let key: ApiKey;
  let secret: string;
  let reads: number;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-verifier-'));
    const real = openSqliteStore(join(dir, 'gatehouse.db'));
    await real.migrate();
    // The real store, with its reads of a key by id counted.
    reads = 0;
    const keys = Object.create(real.keys) as Store['keys'];
    keys.get = (id: string) => (reads++, real.keys.get(id));
    store = Object.assign(Object.create(real) as Store, { keys });
    const app: App = { id: newId('app'), name: 'app', owner: null, metadata: {}, createdAt: NOW, updatedAt: NOW };
    await store.apps.create(app, { ...audit(app.id), targetType: 'app' });
    ({ secret } = generateKey('api', 'live'));
    key = keyRecord(
      app.id,
      {
        name: 'k',
        start: secret.slice(0, 12),
        hash: hashKey(secret, PEPPER),
        pepperId: PEPPER.id,
        access: [{ apiId: 'api_orders' }],
        rateLimits: [{ name: 'burst', limit: 3, windowMs: 60_000 }],
      },
      NOW,
    );
    await store.keys.create(key, audit(key.id));
    changes = createLocalChangeBus();
    verifier = new KeyVerifier({
      store,
      limiter: new MemoryLimiter(),
      usage: new UsageRecorder(store.usage),
      changes,
      peppers: [PEPPER],
      cacheSize: 100,
      cacheTtlMs: 60_000,
      negativeTtlMs: 5_000,
      clock: () => NOW,
    });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one store read, then answered from the cache', async () => {
    assert.equal((await verifier.verifyById(key.id, FACTS)).code, 'VALID');
    assert.equal((await verifier.verifyById(key.id, FACTS)).code, 'VALID');
    assert.equal(await verifier.standingById(key.id), 'VALID');
    assert.equal(reads, 1);
  });

  test('a key already cached by its secret needs no read by id', async () => {
    assert.equal((await verifier.verify(secret, FACTS)).code, 'VALID');
    assert.equal((await verifier.verifyById(key.id, FACTS)).code, 'VALID');
    assert.equal(reads, 0);
  });

  test('a change event drops the entry by id at once', async () => {
    assert.equal((await verifier.verifyById(key.id, FACTS)).code, 'VALID');
    await store.keys.update({ ...key, revokedAt: NOW, revokedReason: 'leaked' }, audit(key.id));
    changes.publish({ type: 'key.changed', keyId: key.id });
    assert.equal((await verifier.verifyById(key.id, FACTS)).code, 'REVOKED');
    assert.equal(await verifier.standingById(key.id), 'REVOKED');
  });

  test('by secret and by id, one rate limit: the same counters', async () => {
    assert.equal((await verifier.verifyById(key.id, FACTS)).code, 'VALID');
    assert.equal((await verifier.verify(secret, FACTS)).code, 'VALID');
    assert.equal((await verifier.verifyById(key.id, FACTS)).code, 'VALID');
    assert.equal((await verifier.verify(secret, FACTS)).code, 'RATE_LIMITED');
    assert.equal((await verifier.verifyById(key.id, FACTS)).code, 'RATE_LIMITED');
  });

  test('an unknown id is NOT_FOUND, and request facts are checked as for the secret', async () => {
    assert.equal((await verifier.verifyById('key_unknown', FACTS)).code, 'NOT_FOUND');
    assert.equal(await verifier.standingById('key_unknown'), 'NOT_FOUND');
    assert.equal((await verifier.verifyById(key.id, { ...FACTS, apiId: 'api_other' })).code, 'FORBIDDEN');
  });
});

/**
 * A KeyVerifier over a real SQLite store on a temporary file. The store is wrapped only to count its
 * reads of keys (by hash and by id) and, on request, to hold one read in flight after it has read:
 * the moment a change can arrive while the verifier still waits for its answer.
 */
async function verifierFixture(
  options: {
    peppers?: readonly Pepper[];
    cacheTtlMs?: number;
    negativeTtlMs?: number;
    random?: () => number;
    refreshAhead?: boolean;
    serveStaleMs?: number;
  } = {},
) {
  const peppers = options.peppers ?? [PEPPER];
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-verifier-'));
  const real = openSqliteStore(join(dir, 'gatehouse.db'));
  await real.migrate();
  /** Store reads of keys: by hash and by id (one each), and refresh batches (getByIds) with the keys they asked for. */
  const reads = { byHash: 0, byId: 0, batches: 0, batchedKeys: 0 };
  type Read = 'key' | 'policy';
  let held: { read: Read; arrived: () => void; gate: Promise<void> } | null = null;
  /** Holds the next read of a key (or of a policy), once it has its answer, until released. */
  const hold = (read: Read = 'key') => {
    let arrived!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    held = { read, arrived, gate: new Promise<void>((resolve) => (release = resolve)) };
    return { reached, release };
  };
  const pause = async (read: Read) => {
    const h = held;
    if (h?.read !== read) return;
    held = null;
    h.arrived();
    await h.gate;
  };
  const keys = Object.create(real.keys) as Store['keys'];
  keys.findByHash = async (hash: string) => {
    reads.byHash++;
    const found = await real.keys.findByHash(hash);
    await pause('key');
    return found;
  };
  keys.get = async (id: string) => {
    reads.byId++;
    const found = await real.keys.get(id);
    await pause('key');
    return found;
  };
  keys.getByIds = async (ids: readonly string[]) => {
    reads.batches++;
    reads.batchedKeys += ids.length;
    const found = await real.keys.getByIds(ids);
    await pause('key');
    return found;
  };
  const policies = Object.create(real.policies) as Store['policies'];
  policies.get = async (id: string) => {
    const found = await real.policies.get(id);
    await pause('policy');
    return found;
  };
  const store = Object.assign(Object.create(real) as Store, { keys, policies });
  const clock = { now: NOW };
  const changes = createLocalChangeBus();
  const health = new Health(pino({ level: 'silent' }), () => clock.now);
  const verifier = new KeyVerifier({
    store,
    limiter: new MemoryLimiter(),
    usage: new UsageRecorder(store.usage),
    changes,
    peppers,
    cacheSize: 100,
    cacheTtlMs: options.cacheTtlMs ?? 60_000,
    negativeTtlMs: options.negativeTtlMs ?? 5_000,
    clock: () => clock.now,
    // No jitter unless a test asks for it, so lifetimes are exact; refreshes ahead only when asked for.
    random: options.random ?? (() => 0),
    health: options.refreshAhead ? health : null,
    ...(options.serveStaleMs === undefined ? {} : { serveStaleMs: options.serveStaleMs }),
  });
  const app: App = { id: newId('app'), name: 'app', owner: null, metadata: {}, createdAt: NOW, updatedAt: NOW };
  await store.apps.create(app, { ...audit(app.id), targetType: 'app' });
  /** A key record for a fresh secret, hashed under `pepper`; stored unless `store: false`. */
  const makeKey = async (init: { pepper?: Pepper; store?: boolean; policyId?: string | null } = {}) => {
    const pepper = init.pepper ?? peppers[0]!;
    const { secret } = generateKey('api', 'live');
    const key = keyRecord(
      app.id,
      {
        policyId: init.policyId ?? null,
        name: 'k',
        start: secret.slice(0, 12),
        hash: hashKey(secret, pepper),
        pepperId: pepper.id,
        access: [{ apiId: 'api_orders' }],
      },
      NOW,
    );
    if (init.store !== false) await store.keys.create(key, audit(key.id));
    return { key, secret };
  };
  const revoke = (key: ApiKey) => store.keys.update({ ...key, revokedAt: clock.now, revokedReason: 'leaked', updatedAt: clock.now }, audit(key.id));
  const close = async () => {
    await real.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { store, changes, verifier, reads, hold, clock, app, makeKey, revoke, close, peppers, health };
}
type VerifierFixture = Awaited<ReturnType<typeof verifierFixture>>;

describe('KeyVerifier: keys with equal settings share their limit checks, never their budgets', () => {
  let f: VerifierFixture;
  afterEach(() => f.close());

  /** A stored key with a rate limit of 2 a minute and a quota of 3 a month (the same settings for every key made here). */
  const limitedKey = async () => {
    const made = await f.makeKey();
    const key = {
      ...made.key,
      rateLimits: [{ name: 'burst', limit: 2, windowMs: 60_000 }],
      quota: { limit: 3, period: 'month' as const },
      updatedAt: f.clock.now,
    };
    await f.store.keys.update(key, audit(key.id));
    return made.secret;
  };
  const codes = async (secret: string, n: number) => {
    const out = [];
    for (let i = 0; i < n; i++) out.push((await f.verifier.verify(secret, FACTS)).code);
    return out;
  };

  test("one key using up its rate limit and its quota leaves another key's untouched", async () => {
    f = await verifierFixture();
    const [a, b] = [await limitedKey(), await limitedKey()];
    assert.deepEqual(await codes(a, 3), ['VALID', 'VALID', 'RATE_LIMITED']);
    assert.deepEqual(await codes(b, 3), ['VALID', 'VALID', 'RATE_LIMITED']);
    f.clock.now += 60_000;
    assert.deepEqual(await codes(a, 2), ['VALID', 'QUOTA_EXCEEDED'], "a's quota of 3: its own 3 uses");
    assert.deepEqual(await codes(b, 2), ['VALID', 'QUOTA_EXCEEDED'], "b's quota of 3: its own 3 uses, a's not among them");
  });

  test('a key whose quota was partly used before it was cached starts from that use; a key beside it from none', async () => {
    f = await verifierFixture();
    const [used, fresh] = [await limitedKey(), await limitedKey()];
    const usedId = (await f.store.keys.findByHash(hashKey(used, f.peppers[0]!)))!.id;
    const period = periodWindow('month', f.clock.now).id;
    await f.store.usage.record({ keys: [], quotas: [{ lineageId: usedId, period, delta: 2, limit: 3, resetsAt: 0 }] });
    assert.deepEqual(await codes(used, 2), ['VALID', 'QUOTA_EXCEEDED'], '2 of 3 used before');
    assert.deepEqual(await codes(fresh, 2), ['VALID', 'VALID']);
  });
});

describe('KeyVerifier: a change that arrives while a store read is in flight (the generation counter)', () => {
  let f: VerifierFixture;
  beforeEach(async () => (f = await verifierFixture()));
  afterEach(() => f.close());
  /** Revokes the key in the store and publishes the change, as the admin API does. */
  const revokeAndPublish = async (key: ApiKey): Promise<void> => {
    await f.revoke(key);
    f.changes.publish({ type: 'key.changed', keyId: key.id });
  };
  /** A key whose access comes from its policy (api_orders), and a change of the policy to another API, published. */
  const keyOfPolicy = async () => {
    const policy = {
      id: newId('policy'),
      name: 'p',
      access: [{ apiId: 'api_orders' }],
      rateLimits: null,
      quota: null,
      ipAllowlist: null,
      scopes: null,
      createdAt: NOW,
      updatedAt: NOW,
    };
    await f.store.policies.create(policy, { ...audit(policy.id), targetType: 'policy' });
    const { key, secret } = await f.makeKey({ policyId: policy.id });
    // Access comes from the policy once the key has none of its own.
    await f.store.keys.update({ ...key, access: null }, audit(key.id));
    const changeAccess = async (): Promise<void> => {
      await f.store.policies.update({ ...policy, access: [{ apiId: 'api_other' }] }, { ...audit(policy.id), targetType: 'policy' });
      f.changes.publish({ type: 'policy.changed', policyId: policy.id });
    };
    return { secret, changeAccess };
  };

  test('a key revoked while its read is in flight is read again at the next request, not answered from a stale cache entry', async () => {
    const { key, secret } = await f.makeKey();
    const held = f.hold();
    const first = f.verifier.verify(secret, FACTS);
    await held.reached;
    await revokeAndPublish(key);
    held.release();
    assert.equal((await first).valid, true, 'the request that read before the change is answered from that read');
    const next = await f.verifier.verify(secret, FACTS);
    assert.equal(next.valid, false);
    assert.equal(next.code, 'REVOKED');
    assert.equal(f.reads.byHash, 2, 'the stale read was not cached');
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'REVOKED');
    assert.equal(f.reads.byHash, 2, 'the fresh read was');
  });

  test('a policy change while a read is in flight keeps that read out of the cache too', async () => {
    const { secret, changeAccess } = await keyOfPolicy();
    const held = f.hold('policy');
    const first = f.verifier.verify(secret, FACTS);
    await held.reached;
    await changeAccess();
    held.release();
    await first;
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'FORBIDDEN', 'the policy as changed applies');
  });

  test('a key looked up by id and revoked while that read is in flight is read again', async () => {
    const { key } = await f.makeKey();
    const held = f.hold();
    const first = f.verifier.verifyById(key.id, FACTS);
    await held.reached;
    await revokeAndPublish(key);
    held.release();
    await first;
    assert.equal((await f.verifier.verifyById(key.id, FACTS)).code, 'REVOKED');
    assert.equal(await f.verifier.standingById(key.id), 'REVOKED');
  });

  test('a request made after the change does not join the read begun before it: it reads again', async () => {
    const { key, secret } = await f.makeKey();
    const held = f.hold();
    const before = f.verifier.verify(secret, FACTS);
    await held.reached;
    await revokeAndPublish(key);
    const after = f.verifier.verify(secret, FACTS);
    held.release();
    assert.equal((await before).code, 'VALID', 'the request made before the change is answered from its read');
    assert.equal((await after).code, 'REVOKED');
    assert.equal(f.reads.byHash, 2);
  });

  test('by id too: a token of a key revoked while a read was in flight is refused from then on', async () => {
    const { key } = await f.makeKey();
    const held = f.hold();
    const before = f.verifier.verifyById(key.id, FACTS);
    await held.reached;
    await revokeAndPublish(key);
    const after = f.verifier.verifyById(key.id, FACTS);
    const standing = f.verifier.standingById(key.id);
    held.release();
    await before;
    assert.deepEqual([(await after).code, await standing], ['REVOKED', 'REVOKED']);
  });

  test('a request made after a policy change is decided by the policy as changed', async () => {
    const { secret, changeAccess } = await keyOfPolicy();
    const held = f.hold('policy');
    const before = f.verifier.verify(secret, FACTS);
    await held.reached;
    await changeAccess();
    const after = f.verifier.verify(secret, FACTS);
    held.release();
    await before;
    assert.equal((await after).code, 'FORBIDDEN');
  });

  test('an unknown key read while it was being created is not remembered as unknown', async () => {
    const { key, secret } = await f.makeKey({ store: false });
    const held = f.hold();
    const first = f.verifier.verify(secret, FACTS);
    await held.reached;
    await f.store.keys.create(key, audit(key.id));
    f.changes.publish({ type: 'key.changed', keyId: key.id });
    held.release();
    assert.equal((await first).code, 'NOT_FOUND');
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
  });
});

describe('KeyVerifier: unknown keys', () => {
  let f: VerifierFixture;
  beforeEach(async () => (f = await verifierFixture({ negativeTtlMs: 5_000 })));
  afterEach(() => f.close());

  test('a key that is not ours by its shape is refused without a store read', async () => {
    const malformed = await f.verifier.verify('gk_live_not-a-key', FACTS);
    assert.equal(malformed.valid, false);
    assert.equal(malformed.code, 'MALFORMED');
    const { secret } = await f.makeKey();
    // One character changed: the checksum no longer matches.
    const last = secret.at(-1) === 'A' ? 'B' : 'A';
    assert.equal((await f.verifier.verify(secret.slice(0, -1) + last, FACTS)).code, 'MALFORMED');
    assert.equal(f.reads.byHash, 0);
    // The checksum is checked on every miss: with the real key cached, the altered one is still refused, every time.
    assert.equal((await f.verifier.verify(secret, FACTS)).valid, true);
    for (let i = 0; i < 2; i++) assert.equal((await f.verifier.verify(secret.slice(0, -1) + last, FACTS)).code, 'MALFORMED');
    assert.equal((await f.verifier.verify(`${secret}A`, FACTS)).code, 'MALFORMED');
    assert.equal(f.reads.byHash, 1, 'only the real key was read');
  });

  test('a well-formed unknown key is remembered as unknown for negativeTtl: no second store read', async () => {
    const { secret } = await f.makeKey({ store: false });
    const first = await f.verifier.verify(secret, FACTS);
    assert.equal(first.valid, false);
    assert.equal(first.code, 'NOT_FOUND');
    assert.equal(f.reads.byHash, 1);
    f.clock.now += 4_999;
    for (let i = 0; i < 5; i++) assert.equal((await f.verifier.verify(secret, FACTS)).code, 'NOT_FOUND');
    assert.equal(f.reads.byHash, 1, 'answered from memory within negativeTtl');
    f.clock.now += 1;
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'NOT_FOUND');
    assert.equal(f.reads.byHash, 2, 'looked up again once negativeTtl has passed');
  });

  test('a key created elsewhere (no change event here) is found once negativeTtl has passed', async () => {
    const { key, secret } = await f.makeKey({ store: false });
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'NOT_FOUND');
    await f.store.keys.create(key, audit(key.id));
    f.clock.now += 4_999;
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'NOT_FOUND', 'still remembered as unknown');
    f.clock.now += 1;
    const found = await f.verifier.verify(secret, FACTS);
    assert.equal(found.valid, true);
    if (found.valid) assert.equal(found.keyId, key.id);
  });

  test('a policy change forgets unknown keys too', async () => {
    const { key, secret } = await f.makeKey({ store: false });
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'NOT_FOUND');
    await f.store.keys.create(key, audit(key.id));
    f.changes.publish({ type: 'policy.changed', policyId: 'pol_any' });
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
  });

  test('an unknown key id is remembered as unknown for negativeTtl too', async () => {
    assert.equal((await f.verifier.verifyById('key_unknown', FACTS)).code, 'NOT_FOUND');
    assert.equal(await f.verifier.standingById('key_unknown'), 'NOT_FOUND');
    assert.equal(f.reads.byId, 1);
    f.clock.now += 5_000;
    assert.equal((await f.verifier.verifyById('key_unknown', FACTS)).code, 'NOT_FOUND');
    assert.equal(f.reads.byId, 2);
  });
});

describe('KeyVerifier: pepper rotation', () => {
  const NEW = createPepper(Buffer.from('key-verifier-test-pepper-new-0123456789'));
  const OLD = createPepper(Buffer.from('key-verifier-test-pepper-old-0123456789'));
  const DROPPED = createPepper(Buffer.from('key-verifier-test-pepper-dropped-012345'));
  let f: VerifierFixture;
  beforeEach(async () => (f = await verifierFixture({ peppers: [NEW, OLD] })));
  afterEach(() => f.close());

  test('a key hashed under the current pepper is found with one lookup', async () => {
    const { key, secret } = await f.makeKey({ pepper: NEW });
    const v = await f.verifier.verify(secret, FACTS);
    assert.equal(v.valid, true);
    if (v.valid) assert.equal(v.keyId, key.id);
    assert.equal(f.reads.byHash, 1, 'the first pepper is tried first');
  });

  test('a key hashed under a previous pepper is still found', async () => {
    const { key, secret } = await f.makeKey({ pepper: OLD });
    const v = await f.verifier.verify(secret, FACTS);
    assert.equal(v.valid, true);
    if (v.valid) assert.equal(v.keyId, key.id);
    assert.equal(f.reads.byHash, 2);
  });

  test('a key hashed under a pepper no longer configured is unknown', async () => {
    const { secret } = await f.makeKey({ pepper: DROPPED });
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'NOT_FOUND');
    assert.equal(f.reads.byHash, 2, 'every configured pepper was tried');
  });

  test('a key created through the keys service is hashed under the first pepper', async () => {
    const ctx: ControlContext = {
      store: f.store,
      requestLog: f.store.requestLog,
      changes: f.changes,
      peppers: f.peppers,
      usage: new UsageRecorder(f.store.usage),
      verifier: f.verifier,
      identityLimits: new IdentityLimits(new MemoryLimiter(), { count: () => undefined, used: async () => 0 }),
      clock: () => f.clock.now,
      identity: null,
      bearerAvailable: false,
      mtlsAvailable: false,
      analytics: null,
      incidents: { exposure: DEFAULT_EXPOSURE_POLICY, requestLogDays: null, keyAddressDays: 90 },
      webhooks: null,
    };
    const apiId = newId('api');
    const api: Api = {
      id: apiId,
      name: 'orders',
      listenPath: '/orders',
      upstreamUrl: 'http://127.0.0.1:1',
      auth: { type: 'apiKey', scopes: [] },
      tokens: { audience: 'https://api.example/orders', accessTokenTtlSeconds: 300 },
      timeoutMs: 1000,
      createdAt: NOW,
      updatedAt: NOW,
    };
    await f.store.apis.create(api, { ...audit(apiId), targetType: 'api' });
    const { key, secret } = await keysService.create(ctx, { actor: 'test', requestId: null }, keyCreateSchema.parse({ appId: f.app.id, access: [{ apiId }] }));
    assert.equal(key.pepperId, NEW.id);
    assert.equal(key.hash, hashKey(secret, NEW));
    assert.equal((await f.verifier.verify(secret, { ...FACTS, apiId })).code, 'VALID');
    assert.equal(f.reads.byHash, 1);
  });
});

describe('KeyVerifier: one store read for concurrent misses', () => {
  let f: VerifierFixture;
  beforeEach(async () => (f = await verifierFixture()));
  afterEach(() => f.close());

  test('concurrent requests with one uncached key share one store read', async () => {
    const { key, secret } = await f.makeKey();
    const answers = await Promise.all(Array.from({ length: 10 }, () => Promise.resolve(f.verifier.verify(secret, FACTS))));
    for (const v of answers) {
      assert.equal(v.valid, true);
      if (v.valid) assert.equal(v.keyId, key.id);
    }
    assert.equal(f.reads.byHash, 1);
  });

  test('concurrent requests with one unknown key share one store read', async () => {
    const { secret } = await f.makeKey({ store: false });
    const answers = await Promise.all(Array.from({ length: 10 }, () => Promise.resolve(f.verifier.verify(secret, FACTS))));
    assert.deepEqual(
      answers.map((v) => v.code),
      Array(10).fill('NOT_FOUND'),
    );
    assert.equal(f.reads.byHash, 1);
  });

  test('concurrent lookups of one key id share one store read', async () => {
    const { key } = await f.makeKey();
    const answers = await Promise.all(Array.from({ length: 10 }, () => Promise.resolve(f.verifier.verifyById(key.id, FACTS))));
    assert.deepEqual(
      answers.map((v) => v.code),
      Array(10).fill('VALID'),
    );
    assert.equal(f.reads.byId, 1);
  });

  test('a read that fails is shared by its waiters, not cached: the next request reads again', async () => {
    const { secret } = await f.makeKey();
    const keys = f.store.keys;
    const findByHash = keys.findByHash;
    keys.findByHash = async () => {
      keys.findByHash = findByHash;
      throw new Error('store unavailable');
    };
    const failed = await Promise.allSettled([f.verifier.verify(secret, FACTS), f.verifier.verify(secret, FACTS)]);
    assert.deepEqual(
      failed.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
  });
});

describe('KeyVerifier: cache lifetime', () => {
  let f: VerifierFixture;
  beforeEach(async () => (f = await verifierFixture({ cacheTtlMs: 60_000 })));
  afterEach(() => f.close());

  test('a cached key is answered from memory until cacheTtl, then read again by its id: a change made elsewhere shows by then', async () => {
    const { key, secret } = await f.makeKey();
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    await f.revoke(key); // another node: no change event reaches this one
    f.clock.now += 59_999;
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID', 'within cacheTtl the cached entry answers');
    assert.deepEqual([f.reads.byHash, f.reads.byId], [1, 0]);
    f.clock.now += 1;
    const after = await f.verifier.verify(secret, FACTS);
    assert.equal(after.valid, false);
    assert.equal(after.code, 'REVOKED');
    // The secret matched this key's hash once: no HMAC again, the key is read by the id it has.
    assert.deepEqual([f.reads.byHash, f.reads.byId], [1, 1]);
  });

  test('a key deleted elsewhere is unknown once its entry expires; once that answer expires too, the secret is looked up by its hash', async () => {
    const { key, secret } = await f.makeKey();
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    await f.store.keys.delete(key.id, audit(key.id)); // elsewhere: no change event here
    f.clock.now += 60_000;
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'NOT_FOUND');
    assert.deepEqual([f.reads.byHash, f.reads.byId], [1, 1]);
    f.clock.now += 60_000;
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'NOT_FOUND');
    assert.deepEqual([f.reads.byHash, f.reads.byId], [2, 1]);
  });

  test('a change event on this node drops the cached key at once', async () => {
    const { key, secret } = await f.makeKey();
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    await f.revoke(key);
    f.changes.publish({ type: 'key.changed', keyId: key.id });
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'REVOKED');
  });

  test('a change event for another key leaves this one cached', async () => {
    const { secret } = await f.makeKey();
    const { key: other } = await f.makeKey();
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    f.changes.publish({ type: 'key.changed', keyId: other.id });
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    assert.equal(f.reads.byHash, 1);
  });
});

describe('KeyVerifier: spread refreshes (issue 14)', () => {
  let f: VerifierFixture;
  afterEach(() => f.close());
  /** Lets the event loop run until `done` holds (a background refresh settling); fails after 200 turns. */
  const settle = async (done: () => boolean) => {
    for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setImmediate(r));
    assert.ok(done(), 'settled');
  };

  test('keys read together expire apart, each within 80-100% of cacheTtl and never later', async () => {
    const draws = [0, 0.5, 0.999];
    f = await verifierFixture({ random: () => draws.shift()! });
    const made = [await f.makeKey(), await f.makeKey(), await f.makeKey()];
    for (const { secret } of made) assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    for (const { key } of made) await f.revoke(key); // elsewhere: no change event here
    const codes = async () => Promise.all(made.map(async ({ secret }) => (await f.verifier.verify(secret, FACTS)).code));
    f.clock.now = NOW + 48_011;
    assert.deepEqual(await codes(), ['VALID', 'VALID', 'VALID']);
    f.clock.now = NOW + 48_012; // 60 s x (1 - 0.2 x 0.999)
    assert.deepEqual(await codes(), ['VALID', 'VALID', 'REVOKED']);
    f.clock.now = NOW + 54_000;
    assert.deepEqual(await codes(), ['VALID', 'REVOKED', 'REVOKED']);
    f.clock.now = NOW + 60_000;
    assert.deepEqual(await codes(), ['REVOKED', 'REVOKED', 'REVOKED']);
  });

  test('a key in use is read again in the background before it expires: requests are answered from the cache meanwhile, one read for all', async () => {
    f = await verifierFixture({ refreshAhead: true });
    const { key, secret } = await f.makeKey();
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    await f.revoke(key);
    f.clock.now = NOW + 47_999;
    assert.equal((f.verifier.verify(secret, FACTS) as Verification).code, 'VALID');
    assert.equal(f.reads.byHash, 1, 'before 80% of its lifetime, no refresh');
    f.clock.now = NOW + 48_000;
    const held = f.hold();
    for (let i = 0; i < 5; i++) {
      const answer = f.verifier.verify(secret, FACTS);
      assert.ok(!(answer instanceof Promise), 'answered from the cache while the refresh is in flight');
      assert.equal(answer.code, 'VALID');
    }
    await held.reached;
    assert.deepEqual([f.reads.byHash, f.reads.batches], [1, 1], 'one refresh for five requests, by id');
    held.release();
    await settle(() => (f.verifier.verify(secret, FACTS) as Verification).code === 'REVOKED');
    assert.deepEqual([f.reads.byHash, f.reads.batches], [1, 1], 'the refreshed entry answers from the cache');
    assert.equal(f.health.report().components[KEY_CACHE_REFRESH]?.ok, true);
  });

  test('keys due for a refresh together are read in one batch by id: a key deleted elsewhere is then unknown, the others answer on', async () => {
    f = await verifierFixture({ refreshAhead: true });
    const made = [await f.makeKey(), await f.makeKey(), await f.makeKey()];
    for (const { secret } of made) assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    await f.store.keys.delete(made[1]!.key.id, audit(made[1]!.key.id)); // elsewhere: no change event here
    f.clock.now = NOW + 48_000;
    for (const { secret } of made) assert.equal((f.verifier.verify(secret, FACTS) as Verification).code, 'VALID', 'answered from the cache');
    await settle(() => f.health.report().components[KEY_CACHE_REFRESH]?.lastSuccessAt != null);
    assert.deepEqual(f.reads, { byHash: 3, byId: 0, batches: 1, batchedKeys: 3 });
    const codes = await Promise.all(made.map(async ({ secret }) => (await f.verifier.verify(secret, FACTS)).code));
    assert.deepEqual(codes, ['VALID', 'NOT_FOUND', 'VALID']);
    assert.equal(f.reads.byHash, 3, 'answered from what the batch read');
  });

  test('a refresh sees what changed elsewhere and only that: a new name changes no answer, new scopes and limits change them', async () => {
    f = await verifierFixture({ refreshAhead: true });
    const { key, secret } = await f.makeKey();
    const needsWrite = { ...FACTS, requiredScopes: ['orders:write'] };
    assert.equal((await f.verifier.verify(secret, needsWrite)).code, 'INSUFFICIENT_SCOPE');
    // Elsewhere (no change event here): a rename, which no check reads.
    await f.store.keys.update({ ...key, name: 'renamed', updatedAt: f.clock.now }, audit(key.id));
    f.clock.now = NOW + 48_000;
    assert.equal((f.verifier.verify(secret, needsWrite) as Verification).code, 'INSUFFICIENT_SCOPE', 'answered from the cache; the refresh starts');
    await settle(() => f.reads.batches === 1 && f.health.report().components[KEY_CACHE_REFRESH]?.ok === true);
    assert.equal((await f.verifier.verify(secret, needsWrite)).code, 'INSUFFICIENT_SCOPE');
    // Then scopes and a rate limit of one request a minute: the next refresh answers with them.
    const renamed = (await f.store.keys.get(key.id))!;
    await f.store.keys.update(
      { ...renamed, scopes: ['orders:write'], rateLimits: [{ name: 'per-minute', limit: 1, windowMs: 60_000 }], updatedAt: f.clock.now },
      audit(key.id),
    );
    f.clock.now = NOW + 48_000 + 48_000;
    assert.equal((f.verifier.verify(secret, needsWrite) as Verification).code, 'INSUFFICIENT_SCOPE', 'answered from the cache; the refresh starts');
    await settle(() => f.reads.batches === 2);
    await settle(() => (f.verifier.verify(secret, needsWrite, false) as Verification).code === 'VALID');
    assert.equal((await f.verifier.verify(secret, needsWrite)).code, 'VALID');
    assert.equal((await f.verifier.verify(secret, needsWrite)).code, 'RATE_LIMITED');
  });

  test('a refresh that finds the key as it was reads no quota use again: the entry, its checks and its count carry on', async () => {
    f = await verifierFixture({ refreshAhead: true });
    const made = await f.makeKey();
    await f.store.keys.update({ ...made.key, quota: { limit: 5, period: 'month' }, updatedAt: f.clock.now }, audit(made.key.id));
    const usage = f.store.usage;
    const quotaUsed = usage.quotaUsed.bind(usage);
    let quotaReads = 0;
    usage.quotaUsed = async (lineageId, period) => (quotaReads++, quotaUsed(lineageId, period));
    for (let i = 0; i < 2; i++) assert.equal((await f.verifier.verify(made.secret, FACTS)).code, 'VALID');
    assert.equal(quotaReads, 1, 'read once, with the key');
    f.clock.now = NOW + 48_000;
    assert.equal((f.verifier.verify(made.secret, FACTS) as Verification).code, 'VALID', 'answered from the cache; the refresh starts');
    // Settled once the refresh reported its success (the first: none ran before).
    await settle(() => f.health.report().components[KEY_CACHE_REFRESH]?.lastSuccessAt != null);
    assert.equal(f.reads.batches, 1);
    assert.equal(quotaReads, 1, 'the refresh found the key as it was');
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await f.verifier.verify(made.secret, FACTS)).code);
    assert.deepEqual(codes, ['VALID', 'VALID', 'QUOTA_EXCEEDED'], 'the count carried on: 5 a month, 3 used before');
  });

  test('a refresh that ends after a later read of its key does not put back what it read: a key revoked elsewhere stays revoked', async () => {
    f = await verifierFixture({ refreshAhead: true });
    const { key, secret } = await f.makeKey();
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    f.clock.now = NOW + 48_000;
    const held = f.hold();
    assert.equal((f.verifier.verify(secret, FACTS) as Verification).code, 'VALID', 'answered from the cache; the refresh starts');
    await held.reached; // the refresh has read the key as valid, and is slow to finish
    await f.revoke(key); // elsewhere: no change event here
    f.clock.now = NOW + 60_000;
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'REVOKED', 'the entry expired: read again, by id');
    held.release();
    await settle(() => f.health.report().components[KEY_CACHE_REFRESH]?.lastSuccessAt != null);
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'REVOKED', 'the older read did not replace the newer entry');
  });

  test('a refresh that fails is reported, the entry answers until it expires and not after: then the failure reaches the request', async () => {
    f = await verifierFixture({ refreshAhead: true });
    const { secret } = await f.makeKey();
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    const unavailable = async (): Promise<never> => {
      throw new StorageUnavailableError('disk I/O error', { cause: null });
    };
    f.store.keys.findByHash = async () => (f.reads.byHash++, unavailable());
    f.store.keys.get = async () => (f.reads.byId++, unavailable());
    f.store.keys.getByIds = async () => (f.reads.batches++, unavailable());
    f.clock.now = NOW + 50_000;
    assert.equal((f.verifier.verify(secret, FACTS) as Verification).code, 'VALID');
    await settle(() => f.health.report().components[KEY_CACHE_REFRESH]?.ok === false);
    assert.match(String(f.health.report().components[KEY_CACHE_REFRESH]?.lastError), /disk I\/O error/);
    assert.equal(f.health.report().ready, true, 'a failed refresh is a warning: the entry still answers');
    assert.equal((f.verifier.verify(secret, FACTS) as Verification).code, 'VALID');
    assert.equal(f.reads.batches, 1, 'no second attempt within a second of the failed one');
    f.clock.now = NOW + 59_999;
    assert.equal((f.verifier.verify(secret, FACTS) as Verification).code, 'VALID');
    f.clock.now = NOW + 60_000;
    await assert.rejects(Promise.resolve(f.verifier.verify(secret, FACTS)), StorageUnavailableError);
  });
});

describe('KeyVerifier: degraded mode (cache.serveStaleSeconds)', () => {
  let f: VerifierFixture;
  afterEach(() => f.close());
  const unreachable = (fx: VerifierFixture) => {
    const real = { findByHash: fx.store.keys.findByHash, get: fx.store.keys.get, getByIds: fx.store.keys.getByIds };
    fx.store.keys.findByHash = async () => {
      fx.reads.byHash++;
      throw new StorageUnavailableError('connection refused', { cause: null });
    };
    fx.store.keys.get = async () => {
      fx.reads.byId++;
      throw new StorageUnavailableError('connection refused', { cause: null });
    };
    fx.store.keys.getByIds = async () => {
      fx.reads.batches++;
      throw new StorageUnavailableError('connection refused', { cause: null });
    };
    return () => Object.assign(fx.store.keys, real);
  };

  test('with the store unreachable, an expired entry answers for serveStale past its expiry, then the failure reaches the request', async () => {
    f = await verifierFixture({ refreshAhead: true, serveStaleMs: 30_000 });
    const { key, secret } = await f.makeKey();
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    assert.equal((await f.verifier.verifyById(key.id, FACTS)).code, 'VALID');
    const restore = unreachable(f);
    f.clock.now = NOW + 61_000;
    // The first request past expiry tries the store, finds it unreachable and is answered from the stale entry.
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    assert.equal((await f.verifier.verifyById(key.id, FACTS)).code, 'VALID');
    const reads = f.reads.byHash + f.reads.batches;
    // Known unreachable: answered at once (no promise), the store tried again in the background at most once a second.
    assert.equal((f.verifier.verify(secret, FACTS) as Verification).code, 'VALID');
    assert.ok(f.reads.byHash + f.reads.batches <= reads + 1);
    f.clock.now = NOW + 90_000;
    assert.equal((f.verifier.verify(secret, FACTS) as Verification).code, 'VALID');
    f.clock.now = NOW + 90_001;
    await assert.rejects(Promise.resolve(f.verifier.verify(secret, FACTS)), StorageUnavailableError);
    restore();
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID', 'read again once the store answers');
  });

  test('a change seen on the change feed wins over stale serving: a revoked key is not served stale', async () => {
    f = await verifierFixture({ refreshAhead: true, serveStaleMs: 300_000 });
    const { key, secret } = await f.makeKey();
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    unreachable(f);
    f.clock.now = NOW + 61_000;
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    f.changes.publish({ type: 'key.changed', keyId: key.id });
    await assert.rejects(Promise.resolve(f.verifier.verify(secret, FACTS)), StorageUnavailableError);
  });

  test('a change that arrives while a failing read is in flight wins over stale serving too', async () => {
    f = await verifierFixture({ serveStaleMs: 300_000 });
    const { key, secret } = await f.makeKey();
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'VALID');
    let arrived!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const failing = async (): Promise<never> => {
      arrived();
      await gate;
      throw new StorageUnavailableError('connection reset', { cause: null });
    };
    f.store.keys.findByHash = failing;
    f.store.keys.get = failing;
    f.clock.now = NOW + 61_000;
    const inFlight = f.verifier.verify(secret, FACTS);
    await reached;
    f.changes.publish({ type: 'key.changed', keyId: key.id });
    release();
    await assert.rejects(Promise.resolve(inFlight), StorageUnavailableError);
  });

  test('an unknown key is never served stale, and a failure that is not the store being away is not hidden', async () => {
    f = await verifierFixture({ refreshAhead: true, serveStaleMs: 300_000 });
    const { secret } = await f.makeKey({ store: false });
    assert.equal((await f.verifier.verify(secret, FACTS)).code, 'NOT_FOUND');
    unreachable(f);
    f.clock.now = NOW + 61_000;
    await assert.rejects(Promise.resolve(f.verifier.verify(secret, FACTS)), StorageUnavailableError);
    const other = await verifierFixture({ refreshAhead: true, serveStaleMs: 300_000 });
    try {
      const made = await other.makeKey();
      assert.equal((await other.verifier.verify(made.secret, FACTS)).code, 'VALID');
      other.store.keys.get = async () => {
        throw new Error('a bug, not an outage');
      };
      other.clock.now = NOW + 61_000;
      await assert.rejects(Promise.resolve(other.verifier.verify(made.secret, FACTS)), /a bug/);
    } finally {
      await other.close();
    }
  });
});
