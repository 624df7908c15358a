import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { EngineProbes } from './engine-probes.ts';
import type { HealthReporter } from './health.ts';

test('an engine whose probe fails with a key or a JWT in its message is reported without them', async () => {
  const health: HealthReporter = { register: () => undefined, ok: () => undefined, failed: () => undefined, run: async () => undefined };
  const secret = 'gk_live_Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7cF0';
  const probes = new EngineProbes({
    probes: [
      {
        engine: 'redis',
        ping: async () => {
          throw new Error(`connect to redis://default:${secret}@cache:6379 refused, token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln`);
        },
      },
    ],
    intervalMs: 60_000,
    timeoutMs: 1000,
    clock: () => 0,
    health,
  });
  // Run by hand: `health.run` is where PeriodicTask runs a round. A round fails here by design (the
  // probe's engine is down); what it leaves in the report is what this test reads.
  health.run = async (_component, task) => void (await task().catch(() => undefined));
  probes.start();
  for (let i = 0; i < 50 && probes.report().redis!.status !== 'down'; i++) await delay(10);
  await probes.stop();
  const error = probes.report().redis!.error!;
  assert.equal(error, 'connect to redis://default:[Redacted]@cache:6379 refused, token [Redacted]');
});
