import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { BACKGROUND_NICE, StoreThread } from './store-thread.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-store-thread-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Nice values of this process's threads, by name (comm). */
function threadNices(): { name: string; nice: number }[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    return { name: stat.slice(stat.indexOf('(') + 1, close), nice: Number(stat.slice(close + 2).split(' ')[16]) };
  });
}

test(
  'the store thread runs below the gateway thread: on a shared CPU, requests are served first',
  { skip: process.platform !== 'linux' && 'thread priorities are set through /proc (Linux)' },
  async () => {
    const path = join(dir, 'gatehouse.db');
    const store = openSqliteStore(path);
    await store.migrate();
    await store.close();
    const warnings: string[] = [];
    const thread = new StoreThread({
      path,
      busyTimeoutMs: 1000,
      onError: (error) => assert.fail(String(error)),
      onWarning: (message) => warnings.push(message),
    });
    const mainNice = getPriority();
    try {
      const before = threadNices().filter((t) => t.nice === BACKGROUND_NICE).length;
      // The first call starts the thread; it has lowered itself before it answers.
      assert.deepEqual(await thread.record({ keys: [], quotas: [] }), []);
      assert.equal(threadNices().filter((t) => t.nice === BACKGROUND_NICE).length, before + 1);
      assert.deepEqual(warnings, []);
      assert.equal(getPriority(), mainNice, 'the calling thread keeps its priority');
    } finally {
      await thread.close();
    }
  },
);
