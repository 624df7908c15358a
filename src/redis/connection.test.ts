import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Config } from '../config/load.ts';
import { connectRedis } from './connection.ts';

test('redis.caFile made writable by anyone since start is refused when a connection is made (a gateway worker started again after a crash), naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-ca-'));
  const caFile = join(dir, 'redis-ca.pem');
  writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
  chmodSync(caFile, 0o666);
  const config = {
    redis: { url: 'rediss://127.0.0.1:1', sentinels: [], caFile, commandTimeoutMs: 100, username: null },
    redisPassword: null,
  } as unknown as Pick<Config, 'redis' | 'redisPassword'>;
  try {
    const made = await connectRedis(config, 'test').catch((error: unknown) => error);
    // A connection made with the file anyway is closed, not left retrying.
    if (!(made instanceof Error)) (made as { disconnect(): void }).disconnect();
    assert.ok(made instanceof Error, 'refused');
    assert.match(made.message, /^redis\.caFile: the CA file .*redis-ca\.pem is writable by anyone \(mode 0666\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
