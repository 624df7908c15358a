import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DATA_DIR_MASTER_KEY, DATA_DIR_PEPPER } from '../src/config/load.ts';
import { ensureDemoSecrets } from '../src/demo/demo-setup.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { ensureDevCertificate } from '../src/tls/dev-ca.ts';

const root = mkdtempSync(join(tmpdir(), 'gatehouse-modes-'));
after(() => rmSync(root, { recursive: true, force: true }));
const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

describe('data files are readable by their owner only', () => {
  test('the SQLite database, its -wal and -shm are 0600 and a directory made for them 0700', async () => {
    const dir = join(root, 'store', 'nested');
    const file = join(dir, 'gatehouse.db');
    const store = openSqliteStore(file);
    try {
      await store.migrate();
      await store.oidc.upsert('Session', 's1', { accountId: 'usr_1' }, null);
      assert.equal(modeOf(join(root, 'store')), '700');
      assert.equal(modeOf(dir), '700');
      for (const path of [file, `${file}-wal`, `${file}-shm`]) assert.equal(modeOf(path), '600', path);
    } finally {
      await store.close();
    }
  });

  test('an existing database file readable by others is made 0600 when opened', async () => {
    const file = join(root, 'loose', 'gatehouse.db');
    const first = openSqliteStore(file);
    await first.migrate();
    await first.close();
    chmodSync(file, 0o644);
    const second = openSqliteStore(file);
    try {
      assert.equal(modeOf(file), '600');
      await second.oidc.upsert('Session', 's1', { accountId: 'usr_1' }, null);
      assert.equal(modeOf(`${file}-wal`), '600');
    } finally {
      await second.close();
    }
  });

  test('demo secrets (pepper, master key) are 0600 in a 0700 data directory', () => {
    const dir = join(root, 'demo', 'data');
    ensureDemoSecrets(dir);
    assert.equal(modeOf(dir), '700');
    assert.equal(modeOf(join(dir, DATA_DIR_PEPPER)), '600');
    assert.equal(modeOf(join(dir, DATA_DIR_MASTER_KEY)), '600');
  });

  test('the development CA’s and the certificate’s private keys are 0600 in a 0700 directory, also over a file an interrupted run left', async () => {
    const dir = join(root, 'tls-data');
    mkdirSync(join(dir, 'tls'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'tls', 'key.pem'), 'left over', { mode: 0o644 });
    const made = await ensureDevCertificate(dir);
    assert.equal(modeOf(join(dir, 'tls')), '700');
    assert.equal(modeOf(made.keyFile), '600');
    assert.equal(modeOf(join(dir, 'tls', 'ca-key.pem')), '600');
  });
});
