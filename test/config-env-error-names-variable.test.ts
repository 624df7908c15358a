import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.ts';

const PEPPER = 'pepper-A-0123456789abcdefghijklmnopqrstuvwxyz';

/** The refusal's text, for a file saying `gateway.port: 8443` and the environment given. */
function refusal(env: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-env-error-'));
  try {
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, 'gateway:\n  port: 8443\n');
    const config = loadConfig({ file, env: { GATEHOUSE_PEPPER: PEPPER, ...env } });
    assert.fail(`accepted: gateway.port ${config.gateway.port}`);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The environment wins over the file: an error that names only the setting and the file sends the
// user to a file that says 8443, while the bad value is in a variable they may have forgotten.
test('a bad setting from the environment is refused naming its variable, not only the file', () => {
  for (const [variable, value] of [
    ['GATEHOUSE_GATEWAY_PORT', 'abc'],
    ['GATEHOUSE_GATEWAY_PORT', '99999'],
    ['GATEHOUSE_CACHE_KEY_TTL_SECONDS', 'soon'],
  ] as const) {
    const message = refusal({ [variable]: value });
    assert.match(message, new RegExp(variable), `${variable}=${value}: ${message}`);
  }
});

test('a non-numeric string for a numeric setting says a number is expected, not "received NaN"', () => {
  const message = refusal({ GATEHOUSE_GATEWAY_PORT: 'abc' });
  assert.match(message, /gateway\.port/);
  assert.match(message, /a number is expected/);
  assert.doesNotMatch(message, /NaN/);
});

test('a bad setting in the file still names the setting alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-env-error-'));
  try {
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, 'gateway:\n  port: 99999\n');
    assert.throws(
      () => loadConfig({ file, env: { GATEHOUSE_PEPPER: PEPPER } }),
      (error: Error) => error instanceof ConfigError && /gateway\.port/.test(error.message) && !/GATEHOUSE_/.test(error.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
