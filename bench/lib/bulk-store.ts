/**
 * Fills a Gatehouse SQLite store with many keys or APIs for the benchmarks, straight into the tables
 * (one transaction, cloning a row Gatehouse itself wrote through its services), because creating a
 * million keys through the key service (an audit entry and a change event each) takes hours.
 * Benchmark only: the rows are what keysService.create would write minus the audit trail.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { generateKey } from '../../src/domain/key-format.ts';
import { hashKey, type Pepper } from '../../src/domain/key-hash.ts';
import { newId } from '../../src/domain/ids.ts';

function open(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA busy_timeout = 30000');
  return db;
}

function inTransaction(db: DatabaseSync, work: () => void): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    work();
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

function insertLike(db: DatabaseSync, table: string, template: Record<string, SQLInputValue>) {
  const columns = Object.keys(template);
  const statement = db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  return (row: Record<string, SQLInputValue>) => statement.run(...columns.map((c) => row[c] ?? null));
}

/**
 * `count` more keys like `templateKeyId` (same app, API access, limits and quota), each with a fresh
 * secret hashed under `pepper`. Returns the secrets of the first `keepSecrets` of them (the hot keys a
 * load generator will present); the others' secrets are dropped.
 */
export function bulkKeys(path: string, templateKeyId: string, pepper: Pepper, count: number, keepSecrets: number): string[] {
  const db = open(path);
  try {
    const template = db.prepare('SELECT * FROM keys WHERE id = ?').get(templateKeyId);
    if (!template) throw new Error(`no key ${templateKeyId} in ${path}`);
    const data = JSON.parse(String(template.data)) as Record<string, unknown>;
    const insert = insertLike(db, 'keys', template);
    const secrets: string[] = [];
    const environment = data.environment as 'live' | 'test';
    const BATCH = 50_000;
    for (let done = 0; done < count; done += BATCH) {
      inTransaction(db, () => {
        for (let i = done; i < Math.min(count, done + BATCH); i++) {
          const { secret, start } = generateKey('api', environment);
          const hash = hashKey(secret, pepper);
          const id = newId('key');
          if (i < keepSecrets) secrets.push(secret);
          insert({ ...template, id, hash, lineage_id: id, data: JSON.stringify({ ...data, id, hash, start, name: `bulk ${i}` }) });
        }
      });
    }
    return secrets;
  } finally {
    db.close();
  }
}

/**
 * bulkKeys in a process of its own (bench/bulk-keys-child.ts), whose kept secrets are appended to
 * `secretsFile`, one per line: the process that asks (a Gatehouse under measurement) then holds
 * neither the inserts' memory nor the secrets. `pepper`: the store's pepper as GATEHOUSE_PEPPER holds it.
 */
export function bulkKeysApart(path: string, templateKeyId: string, pepper: string, count: number, keep: number, secretsFile: string): void {
  const job = JSON.stringify({ path, templateKeyId, pepper, count, keep, secretsFile });
  const child = join(import.meta.dirname, '..', 'bulk-keys-child.ts');
  const done = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', child], { input: job, stdio: ['pipe', 'inherit', 'inherit'] });
  if (done.error) throw done.error;
  if (done.status !== 0) throw new Error(`bench/bulk-keys-child.ts exited with ${done.status ?? done.signal}`);
}

/**
 * `count` more APIs like `templateApiId` (same upstream and auth), listening below the template's
 * listen path (`/bench/r<i>`): all under one first segment, the case a route table could make linear.
 * Gatehouse reads them on its next route-table rebuild (an `api.changed` event).
 */
export function bulkApis(path: string, templateApiId: string, count: number): void {
  const db = open(path);
  try {
    const template = db.prepare('SELECT * FROM apis WHERE id = ?').get(templateApiId);
    if (!template) throw new Error(`no API ${templateApiId} in ${path}`);
    const data = JSON.parse(String(template.data)) as Record<string, unknown> & { tokens?: Record<string, unknown> };
    const insert = insertLike(db, 'apis', template);
    inTransaction(db, () => {
      for (let i = 0; i < count; i++) {
        const id = newId('api');
        const name = `bulk-${i}`;
        const listenPath = `${String(template.listen_path)}/r${i}`;
        const audience = `urn:gatehouse:api:${name}`;
        const row: Record<string, SQLInputValue> = { ...template, id, name, listen_path: listenPath, data: '' };
        if ('audience' in template) row.audience = audience;
        row.data = JSON.stringify({ ...data, id, name, listenPath, ...(data.tokens ? { tokens: { ...data.tokens, audience } } : {}) });
        insert(row);
      }
    });
  } finally {
    db.close();
  }
}
