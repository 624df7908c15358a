import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.ts';
import { startGatehouse } from '../src/gatehouse.ts';
import { capturedLog } from './support/captured-log.ts';

const PEPPER = 'pepper-G-0123456789abcdefghijklmnopqrstuvwxyz';

// `gatehouse start` stops on SIGTERM with gh.close() and exits 1 if it rejects, printing nothing: the
// log is the only place an operator learns that usage counts (or records) were lost at stop.
test('a last flush that fails at stop is logged as an error, saying what was lost, as well as rejecting the close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-last-flush-'));
  const { logger, lines } = capturedLog('error');
  const config = loadConfig({
    env: {
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_PEPPER: PEPPER,
      GATEHOUSE_GATEWAY_PORT: '0',
      GATEHOUSE_CONTROL_PORT: '0',
      GATEHOUSE_GATEWAY_WORKERS: '1',
      GATEHOUSE_STORE_BUSY_TIMEOUT_MS: '100',
      GATEHOUSE_USAGE_FLUSH_INTERVAL_SECONDS: '3600',
    },
  });
  const gh = await startGatehouse(config, { logger });
  const holder = new DatabaseSync(join(dir, 'gatehouse.db'), { timeout: 5000 });
  try {
    for (let i = 0; i < 2; i++) gh.ctx.usage.hit({ id: 'key_00000000000000000000000001' }, Date.now(), null);
    // The store is locked past the busy timeout: the last usage flush cannot write.
    holder.exec('BEGIN EXCLUSIVE');
    await assert.rejects(gh.close(), /2 requests not counted in usage/);
    const logged = lines.filter((line) => /2 requests not counted in usage/.test(JSON.stringify(line)));
    assert.equal(logged.length, 1, 'the loss is in the log');
    assert.equal(logged[0]!.level, 50);
  } finally {
    if (holder.isTransaction) holder.exec('ROLLBACK');
    holder.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
