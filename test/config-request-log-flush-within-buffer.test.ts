import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.ts';

// A flush starts when flushRecords wait; with fewer places in the buffer it never does, and past
// bufferRecords per flushIntervalMs the records are dropped though the store could keep up.
test('requestLog.flushRecords above requestLog.bufferRecords is refused, naming both', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-request-log-config-'));
  try {
    const load = (env: Record<string, string>) => loadConfig({ env: { GATEHOUSE_DATA_DIR: dir, ...env }, secretsRequired: false });
    // Lowering the buffer below the default flushRecords (2000) alone.
    assert.throws(
      () => load({ GATEHOUSE_REQUEST_LOG_BUFFER_RECORDS: '1000' }),
      (error: unknown) => error instanceof ConfigError && /requestLog\.flushRecords: must be at most requestLog\.bufferRecords/.test(error.message),
    );
    assert.equal(load({ GATEHOUSE_REQUEST_LOG_BUFFER_RECORDS: '1000', GATEHOUSE_REQUEST_LOG_FLUSH_RECORDS: '1000' }).requestLog.flushRecords, 1000);
    assert.equal(load({}).requestLog.flushRecords, 2000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
