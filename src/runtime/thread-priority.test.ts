import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { lowerThisThreadPriority } from './thread-priority.ts';

test('a thread lowers its own priority, and only its own: the process keeps its nice value', async () => {
  const before = getPriority();
  const url = new URL('./thread-priority.ts', import.meta.url).href;
  // The thread waits for a message that never comes (its port listened to keeps it alive), so its task
  // is still there to read: a thread that ended after posting its answer took /proc/self/task/<tid> with it.
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads'); parentPort.on('message', () => {}); import(${JSON.stringify(url)}).then(({ lowerThisThreadPriority }) => parentPort.postMessage(lowerThisThreadPriority(${before + 5})));`,
    { eval: true },
  );
  const change = await new Promise<ReturnType<typeof lowerThisThreadPriority>>((resolve) => worker.once('message', resolve));
  try {
    if (process.platform !== 'linux') return assert.equal(change.changed, false);
    assert.ok(change.changed, JSON.stringify(change));
    // The thread's own nice value (field 19 of its stat line, after the parenthesised name) is the one asked for.
    const stat = readFileSync(`/proc/self/task/${change.tid}/stat`, 'utf8');
    assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]), before + 5);
    assert.equal(getPriority(), before, 'the main thread is left alone');
  } finally {
    await worker.terminate();
  }
});
