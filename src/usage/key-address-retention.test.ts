import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { newId } from '../domain/ids.ts';
import { keyRecord } from '../store/contract/fixtures.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { Health } from '../telemetry/health.ts';
import { KEY_ADDRESS_RETENTION, KeyAddressRetention } from './key-address-retention.ts';

const NOW = Date.UTC(2026, 10, 29, 12);
const DAY = 86_400_000;
const audit = (targetId: string) => ({ actor: 'test', action: 'created', targetType: 'key' as const, targetId, before: null, after: null, requestId: null });

test('retention deletes the addresses a key has not been seen from for retentionDays, and keeps the rest', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-addresses-'));
  const store = openSqliteStore(join(dir, 'gatehouse.db'));
  try {
    await store.migrate();
    const app = { id: newId('app'), name: 'app', owner: null, metadata: {}, createdAt: NOW, updatedAt: NOW };
    await store.apps.create(app, { ...audit(app.id), targetType: 'app' });
    const key = keyRecord(app.id, {}, NOW);
    await store.keys.create(key, audit(key.id));
    const seen = (address: string, at: number) => ({ keyId: key.id, address, firstSeen: at, lastSeen: at, requests: 1 });
    await store.usage.record({
      keys: [],
      quotas: [],
      addresses: [seen('192.0.2.1', NOW - 31 * DAY), seen('192.0.2.2', NOW - 29 * DAY), seen('192.0.2.3', NOW)],
    });
    const health = new Health(pino({ level: 'silent' }), () => NOW);
    const retention = new KeyAddressRetention({ sink: store.keyAddresses, health, retentionDays: 30, clock: () => NOW });
    assert.equal(await retention.prune(), 1);
    assert.deepEqual(
      (await store.keyAddresses.list(key.id, { limit: 10 })).items.map((a) => a.address),
      ['192.0.2.3', '192.0.2.2'],
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed retention round is reported as a warning: the node stays ready', async () => {
  const health = new Health(pino({ level: 'silent' }), () => NOW);
  const retention = new KeyAddressRetention({
    sink: { deleteSeenBefore: async () => Promise.reject(new Error('database is locked')) },
    health,
    retentionDays: 30,
    clock: () => NOW,
  });
  retention.start();
  while (health.report().components[KEY_ADDRESS_RETENTION]?.ok !== false) await new Promise((r) => setTimeout(r, 5));
  await retention.stop();
  assert.equal(health.report().ready, true);
  assert.match(String(health.report().components[KEY_ADDRESS_RETENTION]?.lastError), /database is locked/);
});
