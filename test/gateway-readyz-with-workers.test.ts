import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHarness } from './support/harness.ts';

test('with gateway workers, the gateway listener’s /readyz is not ready while the node is not (a critical main-thread component failing)', async () => {
  const h = await startHarness({ GATEHOUSE_GATEWAY_WORKERS: '2' });
  try {
    assert.equal((await fetch(`${h.gh.gatewayUrl}/readyz`)).status, 200);
    // The usage flush (main thread: the one recorder and the store's writer) fails: the node is not ready.
    h.gh.health.failed('usage-flush', new Error('database or disk is full'));
    assert.equal((await fetch(`${h.gh.controlUrl}/readyz`)).status, 503, 'the control listener says not ready');
    // README: "the gateway listener answers the same two paths (without error texts)". Every connection,
    // whichever worker takes it, must say so too.
    let answers: number[] = [];
    const deadline = Date.now() + 3000;
    do {
      await new Promise((r) => setTimeout(r, 100));
      answers = await Promise.all(
        Array.from({ length: 8 }, async () => (await fetch(`${h.gh.gatewayUrl}/readyz`, { headers: { connection: 'close' } })).status),
      );
    } while (Date.now() < deadline && answers.some((s) => s !== 503));
    assert.deepEqual(answers, Array(8).fill(503));
    h.gh.health.ok('usage-flush');
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal((await fetch(`${h.gh.gatewayUrl}/readyz`, { headers: { connection: 'close' } })).status, 200, 'ready again');
  } finally {
    await h.close();
  }
});
