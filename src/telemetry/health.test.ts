import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { Health } from './health.ts';

function logged(): { log: pino.Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({ write: (chunk: Buffer, _enc, done) => (out.push(chunk.toString()), done()) });
  return { log: pino(stream), lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('a critical component that failed makes the node unready until it succeeds again', () => {
  const { log } = logged();
  const health = new Health(log, () => 0);
  health.register('store', true);
  health.register('optional', false);
  assert.equal(health.report().ready, true);
  health.failed('optional', new Error('meh'));
  assert.equal(health.report().ready, true);
  health.failed('store', new Error('disk full'));
  health.failed('store', new Error('disk still full'));
  const down = health.report();
  assert.equal(down.ready, false);
  assert.deepEqual(
    { ok: down.components.store!.ok, failures: down.components.store!.failures, lastError: down.components.store!.lastError },
    { ok: false, failures: 2, lastError: 'disk still full' },
  );
  health.ok('store');
  assert.equal(health.report().ready, true);
  assert.equal(health.report().components.store!.failures, 0);
});

test('run reports a rejected task to the log and to readiness, and never rejects itself', async () => {
  const { log, lines } = logged();
  const health = new Health(log, () => 0);
  await health.run('usage-flush', async () => {
    throw new Error('SQLITE_FULL');
  });
  assert.equal(health.report().ready, false);
  const entry = lines().find((l) => l.component === 'usage-flush');
  assert.equal(entry?.msg, 'usage-flush failed');
  assert.match(JSON.stringify(entry?.err), /SQLITE_FULL/);
  await health.run('usage-flush', async () => undefined);
  assert.equal(health.report().ready, true);
});
