import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { Store } from '../port.ts';
import { openSqliteStore } from './sqlite-store.ts';

/**
 * For SQLite tests that open, change and reopen store files: a temporary directory of the test file's
 * own, removed when its tests end; `nextPath` names a new file in it, `opened` opens one migrated.
 */
export function tempStoreFiles(name: string): { nextPath(): string; opened(path: string): Promise<Store> } {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-sqlite-${name}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  return {
    nextPath: () => join(dir, `store-${++files}.db`),
    async opened(path) {
      const store = openSqliteStore(path);
      await store.migrate();
      return store;
    },
  };
}
