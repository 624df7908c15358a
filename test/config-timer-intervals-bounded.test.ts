import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.ts';

const PEPPER = 'pepper-F-0123456789abcdefghijklmnopqrstuvwxyz';

test("an interval Node's timers cannot hold is refused: usage.flushIntervalSeconds, authorization.revocationPollSeconds", () => {
  // Why: past 2^31 - 1 ms (about 24.9 days) Node sets a timer's delay to 1 ms (TimeoutOverflowWarning),
  // so a usage flush or revocation poll meant to run monthly would run a thousand times a second.
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-intervals-'));
  try {
    for (const [variable, setting] of [
      ['GATEHOUSE_USAGE_FLUSH_INTERVAL_SECONDS', 'usage.flushIntervalSeconds'],
      ['GATEHOUSE_AUTHORIZATION_REVOCATION_POLL_SECONDS', 'authorization.revocationPollSeconds'],
    ] as const) {
      const load = (value: string) => loadConfig({ env: { GATEHOUSE_DATA_DIR: dir, GATEHOUSE_PEPPER: PEPPER, [variable]: value } });
      assert.throws(
        () => load('2200000'),
        (error: unknown) => error instanceof ConfigError && error.message.includes(setting),
        `${setting}: 2,200,000 s is past what a timer holds`,
      );
      assert.doesNotThrow(() => load('3600'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
