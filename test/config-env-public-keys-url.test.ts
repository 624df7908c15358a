import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.ts';

// README: "Every setting can come from the environment". An optional setting (no default) is only
// read from its variable when load.ts lists it; this one was not, so the variable was silently ignored
// and the secret-scanning receiver stayed off (it is on when a public key or this URL is configured).
test('GATEHOUSE_SECRET_SCANNING_GITHUB_PUBLIC_KEYS_URL sets secretScanning.github.publicKeysUrl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-env-optional-'));
  try {
    const url = 'https://api.github.com/meta/public_keys/secret_scanning';
    const config = loadConfig({ env: { GATEHOUSE_DATA_DIR: dir, GATEHOUSE_SECRET_SCANNING_GITHUB_PUBLIC_KEYS_URL: url }, secretsRequired: false });
    assert.equal(config.secretScanning.github.publicKeysUrl, url);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
