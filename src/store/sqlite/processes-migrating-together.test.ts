import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { MIGRATIONS } from './migrations.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { tempStoreFiles } from './temp-store-files.ts';

const files = tempStoreFiles('migrating-together');

// Another process on the same file (node.singleMachine: a gateway process beside the control process),
// here a thread with its own connection: it opens the store and migrates.
const OTHER_PROCESS = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.module).then(async ({ openSqliteStore }) => {
  const store = openSqliteStore(workerData.path, { busyTimeoutMs: 10000 });
  parentPort.postMessage('migrating');
  try {
    await store.migrate();
    parentPort.postMessage('ok');
  } catch (error) {
    parentPort.postMessage(String(error));
  } finally {
    await store.close();
  }
});
`;

test('two processes starting together on one SQLite file both migrate it, each migration applied once', async () => {
  const path = files.nextPath();
  // The file as both find it: schema_migrations there, nothing applied yet (a new file, or a release with new migrations).
  const holder = new DatabaseSync(path);
  holder.exec('PRAGMA journal_mode = WAL; CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  // A write under way elsewhere (a usage flush) as they start: the other process reads what is applied, then waits for the lock.
  holder.exec('BEGIN IMMEDIATE');
  const worker = new Worker(OTHER_PROCESS, { eval: true, workerData: { path, module: new URL('./sqlite-store.ts', import.meta.url).href } });
  const answers: string[] = [];
  const done = new Promise<string>((resolve, reject) => {
    worker.on('message', (message: string) => (message === 'migrating' ? answers.push(message) : resolve(message)));
    worker.on('error', reject);
  });
  while (answers.length === 0) await sleep(10);
  await sleep(300);
  holder.exec('COMMIT');
  holder.close();
  const store = openSqliteStore(path);
  let here = 'ok';
  try {
    await store.migrate();
  } catch (error) {
    here = String(error);
  }
  const there = await done;
  await worker.terminate();
  assert.deepEqual({ here, there }, { here: 'ok', there: 'ok' });
  const check = new DatabaseSync(path);
  const applied = check
    .prepare('SELECT version FROM schema_migrations ORDER BY version')
    .all()
    .map((r) => Number(r.version));
  check.close();
  assert.deepEqual(
    applied,
    MIGRATIONS.map((m) => m.version),
  );
  await store.close();
});
