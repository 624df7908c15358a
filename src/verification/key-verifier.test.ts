import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { ApiKey, App, AuditInput } from '../domain/entities.ts';
import { newId } from '../domain/ids.ts';
import { createPepper, hashKey } from '../domain/key-hash.ts';
import { generateKey } from '../domain/key-format.ts';
import { createLocalChangeBus, type ChangeBus } from '../events/change-bus.ts';
import { MemoryLimiter } from '../limits/memory-limiter.ts';
import type { Store } from '../store/port.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { UsageRecorder } from '../usage/usage-recorder.ts';
import { KeyVerifier } from './key-verifier.ts';

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
    key = {
      id: newId('key'), appId: app.id, policyId: null, name: 'k', environment: 'live', start: secret.slice(0, 12), hash: hashKey(secret, PEPPER), pepperId: PEPPER.id,
      enabled: true, expiresAt: null, revokedAt: null, revokedReason: null, rotatedFrom: null, replacedBy: null, metadata: {},
      access: [{ apiId: 'api_orders' }], rateLimits: [{ name: 'burst', limit: 3, windowMs: 60_000 }], quota: null, ipAllowlist: null, scopes: null,
      createdAt: NOW, updatedAt: NOW, lastUsedAt: null,
    };
    await store.keys.create(key, audit(key.id));
    changes = createLocalChangeBus();
    verifier = new KeyVerifier({ store, limiter: new MemoryLimiter(), usage: new UsageRecorder(store.usage), changes, peppers: [PEPPER], cacheSize: 100, cacheTtlMs: 60_000, negativeTtlMs: 5_000, clock: () => NOW });
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
