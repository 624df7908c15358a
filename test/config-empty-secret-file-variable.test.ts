import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.ts';

const PEPPER = 'pepper-A-0123456789abcdefghijklmnopqrstuvwxyz';
const PREVIOUS = 'pepper-B-0123456789abcdefghijklmnopqrstuvwxyz';
const MASTER = 'master-key-0123456789abcdefghijklmnopqrstuvwxyz';

test('an empty GATEHOUSE_*_FILE variable does not override the secrets files the config file names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-empty-env-'));
  try {
    for (const [name, value] of [
      ['pepper', PEPPER],
      ['previous', PREVIOUS],
      ['master', MASTER],
    ])
      writeFileSync(join(dir, name!), value!, { mode: 0o600 });
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(
      file,
      `secrets:\n  pepperFile: ${join(dir, 'pepper')}\n  previousPeppersFile: ${join(dir, 'previous')}\n  masterKeyFile: ${join(dir, 'master')}\n`,
    );
    // As README says of every setting, and as GATEHOUSE_SECRETS_PEPPER_FILE='' already does: empty is unset.
    // (systemd `Environment=GATEHOUSE_MASTER_KEY_FILE=`, compose's `${MASTER_KEY_FILE}` when unset.)
    const config = loadConfig({
      file,
      env: { GATEHOUSE_PEPPER_FILE: '', GATEHOUSE_PREVIOUS_PEPPERS_FILE: '', GATEHOUSE_MASTER_KEY_FILE: '' },
    });
    assert.equal(config.peppers.length, 2, 'the pepper and the previous one still accepted during the rotation');
    assert.equal(config.masterKey?.toString(), MASTER, 'the authorization server keeps its master key');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
