import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { limiterContract, quota, rate, SUBJECT } from './contract.ts';
import type { LimitCheck } from './port.ts';
import { SharedMemoryLimiter } from './shared-memory-limiter.ts';
import { SharedTable, SharedTableBusyError } from './shared-table.ts';

limiterContract('SharedMemoryLimiter', () => SharedMemoryLimiter.create(4096));

const NOW = Date.UTC(2026, 10, 29, 12);

/**
 * Threads that each open the same table and call consume `attempts` times with `checks`, all
 * starting at once (a shared start flag), answering how many each was admitted.
 */
async function hammer(limiter: SharedMemoryLimiter, threads: number, attempts: number, checks: LimitCheck[]): Promise<number[]> {
  const start = new Int32Array(new SharedArrayBuffer(4));
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.module).then(({ SharedMemoryLimiter }) => import(workerData.table).then(({ SharedTable }) => {
      const limiter = new SharedMemoryLimiter(new SharedTable(workerData.buffer));
      parentPort.postMessage('ready');
      Atomics.wait(workerData.start, 0, 0);
      let admitted = 0;
      for (let i = 0; i < workerData.attempts; i++) if (limiter.consume(workerData.subject, workerData.checks, workerData.now).allowed) admitted++;
      parentPort.postMessage(admitted);
    }));`;
  const workers = Array.from(
    { length: threads },
    () =>
      new Worker(source, {
        eval: true,
        workerData: {
          module: new URL('./shared-memory-limiter.ts', import.meta.url).href,
          table: new URL('./shared-table.ts', import.meta.url).href,
          buffer: limiter.table.buffer,
          start,
          attempts,
          subject: SUBJECT,
          checks,
          now: NOW,
        },
      }),
  );
  const answers = workers.map(
    (worker) =>
      new Promise<number>((resolve, reject) => {
        worker.on('error', reject);
        worker.on('message', (message: unknown) => typeof message === 'number' && resolve(message));
      }),
  );
  await Promise.all(workers.map((worker) => once(worker, 'message')));
  Atomics.store(start, 0, 1);
  Atomics.notify(start, 0);
  const counts = await Promise.all(answers);
  await Promise.all(workers.map((worker) => worker.terminate()));
  return counts;
}

const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);

test('four threads hammering one rate limit of N are admitted exactly N in total', async () => {
  const limiter = SharedMemoryLimiter.create(4096);
  const counts = await hammer(limiter, 4, 3000, [rate(5000)]);
  assert.equal(sum(counts), 5000);
  assert.ok(counts.filter((c) => c > 0).length >= 2, `several threads were admitted: ${counts.join(', ')}`);
});

test('four threads on a quota and a rate limit together: exactly the quota, and refused calls take no rate token', async () => {
  const limiter = SharedMemoryLimiter.create(4096);
  const counts = await hammer(limiter, 4, 1000, [rate(3000), quota(2000)]);
  assert.equal(sum(counts), 2000);
  let rest = 0;
  for (let i = 0; i < 5000; i++) if (limiter.consume(SUBJECT, [rate(3000)], NOW).allowed) rest++;
  assert.equal(rest, 1000, 'the 2000 refused calls consumed no rate-limit token');
});

test('counters first claimed in one call keep a slot each, also in a well-filled table', () => {
  // A slot claimed for one counter reads as expired until the call writes it. Claimed for a second
  // counter of the same call, it gave both one slot, and the first counter's count was lost: with
  // three checks per key, 41 of 1,000 keys in a table of 4,096, and 292 of 100,000 in the default table.
  // 6,144 entries, 64 stripes of 96: 3,000 counters fill it by half, and no stripe overflows whatever
  // the table's random seed (in 64 stripes of 64, some seeds put more than 64 in one and refused a key).
  const limiter = SharedMemoryLimiter.create(6144);
  const checks = [rate(100, 1000, 'rl:per-second'), rate(1000, 60_000, 'rl:per-minute'), quota(1000)];
  const keys = Array.from({ length: 1000 }, (_, k) => `key_${k}`);
  for (const key of keys) assert.equal(limiter.consume(key, checks, NOW).allowed, true);
  const lost = keys.filter((key) => {
    const remaining = limiter.peek(key, checks, NOW).states.map((s) => s.remaining);
    return remaining.join() !== '99,999,999';
  });
  assert.deepEqual(lost, [], 'every key still has its one request counted by every limit');
});

test('the names of one stripe start their probes apart, so a stripe is not one long chain', () => {
  // 4,096 entries: 64 stripes of 64 slots, both powers of two, as the default table is.
  const table = new SharedTable(SharedTable.allocate(4096));
  const names = Array.from({ length: 2000 }, (_, i) => table.name(`rl:per-second`, `key_${i}`))
    .filter((n) => n.stripe === 0)
    .slice(0, 20);
  const slots = names.map((name) => {
    const slot = table.claim(name, NOW);
    table.set(slot, 1, NOW + 60_000);
    return slot;
  });
  // Runs of neighbouring taken slots: one run of 20 when every name started at the same slot. Where
  // they start depends on the table's random seed; 20 random starts in 64 slots make about 12 runs,
  // and fewer than 3 in under one of 200,000 simulated seeds.
  const taken = new Set(slots);
  const runs = slots.filter((slot) => !taken.has(slot - 1)).length;
  assert.ok(runs >= 3, `20 names in a stripe of 64 slots lay in ${runs} runs`);
  names.forEach((name, i) => assert.equal(table.find(name), slots[i]));
});

test('a full table refuses a new counter (counted as an overflow), and reuses a slot once its entry expires', () => {
  const limiter = SharedMemoryLimiter.create(64);
  const capacity = limiter.table.capacity;
  for (let i = 0; i < capacity; i++) assert.equal(limiter.consume(SUBJECT, [rate(1, 1000, `c${i}`)], NOW).allowed, true);
  const refused = limiter.consume(SUBJECT, [rate(1, 1000, 'one-more')], NOW);
  assert.equal(refused.allowed, false);
  assert.equal(refused.deniedBy, 'rate');
  assert.equal(limiter.table.overflows, 1);
  assert.equal(limiter.consume(SUBJECT, [rate(1, 1000, 'c0')], NOW).allowed, false, 'counters already in the table are still counted');
  assert.equal(limiter.consume(SUBJECT, [rate(1, 1000, 'one-more')], NOW + 1000).allowed, true, 'an expired entry makes room');
});

test('peek on a full table answers from what is stored and takes no slot', () => {
  const limiter = SharedMemoryLimiter.create(64);
  for (let i = 0; i < limiter.table.capacity; i++) limiter.consume(SUBJECT, [rate(1, 1000, `c${i}`)], NOW);
  assert.equal(limiter.peek(SUBJECT, [rate(5, 1000, 'unseen')], NOW).allowed, true);
  assert.equal(limiter.table.overflows, 0);
});

test('compacting keeps every live counter findable and drops the expired ones', () => {
  // 8 stripes of 64 for 200 counters: no stripe fills, whatever the table's random seed.
  const limiter = SharedMemoryLimiter.create(512);
  for (let i = 0; i < 200; i++) limiter.consume(SUBJECT, [rate(1, i % 2 === 0 ? 1000 : 60_000, `c${i}`)], NOW);
  limiter.sweep(NOW + 1000);
  for (let i = 0; i < 200; i++) assert.equal(limiter.consume(SUBJECT, [rate(1, 60_000, `c${i}`)], NOW + 1000).allowed, i % 2 === 0, `counter c${i}`);
});

test('the locks a thread held when it died are freed by releaseHeldBy, and the table works again', async () => {
  const table = new SharedTable(SharedTable.allocate(64));
  const source = `
    const { workerData, parentPort, threadId } = require('node:worker_threads');
    import(workerData.table).then(({ SharedTable }) => {
      const table = new SharedTable(workerData.buffer);
      table.lock([0]);
      process.exit(0);
    });`;
  const worker = new Worker(source, { eval: true, workerData: { table: new URL('./shared-table.ts', import.meta.url).href, buffer: table.buffer } });
  const id = worker.threadId;
  await once(worker, 'exit');
  // Until the main thread frees them it must not wait for them forever: it frees them in its exit
  // handler, which runs only once the call in progress returns.
  const limiter = new SharedMemoryLimiter(table);
  table.compact(NOW);
  assert.throws(() => limiter.consume(SUBJECT, [rate(1)], NOW), SharedTableBusyError);
  assert.equal(table.releaseHeldBy(id), 1);
  assert.equal(limiter.consume(SUBJECT, [rate(1)], NOW).allowed, true);
});

test("the stripes a request locks are each of its counters' once, in ascending order (the order that cannot deadlock)", () => {
  const table = new SharedTable(SharedTable.allocate(4096));
  const named = (...stripes: number[]) => stripes.map((stripe) => ({ stripe, h1: 1, h2: 1 }));
  assert.deepEqual(table.stripesOf(named(7)), [7]);
  assert.deepEqual(table.stripesOf(named(9, 2)), [2, 9]);
  assert.deepEqual(table.stripesOf(named(3, 3)), [3]);
  assert.deepEqual(table.stripesOf(named(5, 1, 5, 0, 9, 1)), [0, 1, 5, 9]);
});
