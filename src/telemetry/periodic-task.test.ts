import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import pino from 'pino';
import { Health } from './health.ts';
import { PeriodicTask, serialized } from './periodic-task.ts';

const TASK = 'test-task';
const HOUR_MS = 3_600_000;
const newHealth = () => new Health(pino({ level: 'silent' }), () => 0);

/** A task whose runs each last until the test settles them. */
function heldRuns() {
  const runs: PromiseWithResolvers<void>[] = [];
  return { runs, run: () => (runs.push(Promise.withResolvers<void>()), runs.at(-1)!.promise) };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

test('a run due while one is under way is skipped: runs never overlap', async () => {
  const { runs, run } = heldRuns();
  const task = new PeriodicTask({ component: TASK, critical: false, health: newHealth(), intervalMs: HOUR_MS, run });
  task.trigger();
  task.trigger();
  task.trigger();
  assert.equal(runs.length, 1);
  runs[0]!.resolve();
  await turn();
  task.trigger();
  assert.equal(runs.length, 2, 'once the run is over, the next one starts');
  runs[1]!.resolve();
  await task.stop();
});

test('a failed run is reported to health, and the next run still happens', async () => {
  const health = newHealth();
  let calls = 0;
  let seenBySecondRun: { ok: boolean; failures: number; lastError: string | null } | undefined;
  const task = new PeriodicTask({
    component: TASK,
    critical: true,
    health,
    intervalMs: 1,
    atStart: true,
    run: async () => {
      if (++calls === 1) throw new Error('database is locked');
      seenBySecondRun ??= health.report().components[TASK];
    },
  });
  assert.equal(health.report().components[TASK]?.critical, true, 'declared before its first report');
  task.start();
  await until(() => health.report().components[TASK]?.lastSuccessAt != null);
  await task.stop();
  assert.deepEqual(
    { ok: seenBySecondRun?.ok, failures: seenBySecondRun?.failures, lastError: seenBySecondRun?.lastError },
    { ok: false, failures: 1, lastError: 'database is locked' },
  );
  assert.equal(health.report().ready, true, 'ready again after the run that succeeded');
});

test('stop waits for the run under way', async () => {
  const health = newHealth();
  const { runs, run } = heldRuns();
  const task = new PeriodicTask({ component: TASK, critical: false, health, intervalMs: HOUR_MS, run });
  task.trigger();
  let stopped = false;
  const stopping = task.stop().then(() => (stopped = true));
  await turn();
  assert.equal(stopped, false);
  runs[0]!.resolve();
  await stopping;
  assert.notEqual(health.report().components[TASK]?.lastSuccessAt, null, 'the run was over, and reported, when stop returned');
});

test('nothing runs after stop: not the run due at start, not the interval, not a trigger', async () => {
  let calls = 0;
  const task = new PeriodicTask({
    component: TASK,
    critical: false,
    health: newHealth(),
    intervalMs: 1,
    atStart: true,
    run: async () => void calls++,
  });
  task.start();
  await task.stop();
  await new Promise((r) => setTimeout(r, 20));
  task.trigger();
  assert.equal(calls, 0);
});

test('serialized calls start one after another, and a failed call does not stop the next', async () => {
  const { runs, run } = heldRuns();
  const call = serialized(run);
  const first = call();
  const second = call();
  await turn();
  assert.equal(runs.length, 1, 'the second waits for the first');
  runs[0]!.reject(new Error('store refused'));
  await assert.rejects(first, /store refused/);
  await turn();
  assert.equal(runs.length, 2);
  runs[1]!.resolve();
  await second;
});
