import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { RequestLogEntry } from '../store/port.ts';
import { entryBatch } from '../store/entry-batch.ts';
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

test('request-log entries cross to the store thread and back unchanged, whatever their text holds', async () => {
  const path = join(dir, 'request-log.db');
  const store = openSqliteStore(path);
  await store.migrate();
  await store.close();
  const thread = new StoreThread({ path, busyTimeoutMs: 1000, onError: (error) => assert.fail(String(error)), onWarning: () => {} });
  const entry: RequestLogEntry = {
    at: 1_796_000_000_123,
    requestId: 'req "quoted" \\ back\u2028slash',
    traceId: null,
    apiId: 'api_1',
    api: 'démo ✓',
    route: 'GET /v1/*',
    method: 'GET',
    // Node reads a request line as Latin-1: any byte may be in a path, NUL and controls too.
    path: '/v1/\u0000/\u00ff/\u007f/😀',
    query: null,
    status: 429,
    denialCode: 'RATE_LIMITED',
    durationMs: 0.001,
    upstreamMs: null,
    bytesIn: 0,
    bytesOut: Number.MAX_SAFE_INTEGER,
    keyId: 'key_1',
    appId: null,
    user: null,
    clientId: null,
    address: '::1',
    userAgent: 'agent\t\n',
  };
  try {
    await thread.append(entryBatch([entry, { ...entry, at: entry.at + 1, durationMs: 12.345, upstreamMs: 7.5 }]));
    const page = await thread.query({}, { limit: 10 });
    assert.deepEqual(page.items, [{ ...entry, at: entry.at + 1, durationMs: 12.345, upstreamMs: 7.5 }, entry]);
  } finally {
    await thread.close();
  }
});

test("a call made after a thread failed goes to a new thread, and the old thread's exit does not fail it", async () => {
  // A thread that dies on a usage batch and answers anything else.
  const script = `
    import { parentPort } from 'node:worker_threads';
    parentPort.on('message', (m) => {
      if (m.type === 'close') return parentPort.close();
      if (m.type === 'record') throw new Error('the thread died');
      parentPort.postMessage({ id: m.id, ok: true, value: 'answered' });
    });`;
  const later: { call?: Promise<unknown> } = {};
  const thread = new StoreThread({
    path: join(dir, 'unused.db'),
    busyTimeoutMs: 1000,
    script: new URL(`data:text/javascript,${encodeURIComponent(script)}`),
    onWarning: () => {},
    // Between the dead thread's 'error' and its 'exit': a call from the next flush or query.
    onError: () => queueMicrotask(() => (later.call = thread.query({}, { limit: 1 }))),
  });
  try {
    await assert.rejects(thread.record({ keys: [], quotas: [] }), /the thread died/);
    assert.ok(later.call, 'a call was made between the error and the exit');
    assert.equal(await later.call, 'answered');
  } finally {
    await thread.close();
  }
});
