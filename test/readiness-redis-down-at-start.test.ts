import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { startHarness } from './support/harness.ts';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('Redis down at start (whenUnavailable local): the redis component stays a warning and the node is ready', async () => {
  const port = await closedPort();
  const h = await startHarness({ GATEHOUSE_REDIS_URL: `redis://127.0.0.1:${port}`, GATEHOUSE_REDIS_WHEN_UNAVAILABLE: 'local' });
  try {
    const report = h.gh.health.report();
    const redis = report.components.redis;
    assert.ok(redis, 'the redis component is reported');
    assert.equal(redis.ok, false, 'Redis is down');
    assert.equal(redis.critical, false, 'docs/deployment.md: a Redis outage with whenUnavailable local is a warning');
    const res = await fetch(`${h.gh.controlUrl}/readyz`);
    const body = (await res.json()) as { ready: boolean; components: Record<string, { ok: boolean; critical: boolean }> };
    const failingCritical = Object.entries(body.components)
      .filter(([, c]) => c.critical && !c.ok)
      .map(([n]) => n);
    assert.deepEqual(failingCritical, []);
    assert.equal(res.status, 200);
  } finally {
    await h.close();
  }
});
