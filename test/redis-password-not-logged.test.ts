import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { connectRedis, REDIS_CONNECTION } from '../src/redis/connection.ts';
import { Health } from '../src/telemetry/health.ts';
import { LOG_OPTIONS } from '../src/telemetry/log-redaction.ts';

const PASSWORD = 'S3cr3t-redis-password-from-passwordFile';

test('a Redis that refuses the credentials: the password is not in the log line Health writes for the failure', async () => {
  // A Redis whose ACL user is disabled (or whose password was rotated first): every command is refused.
  const fake = createServer((socket) => socket.on('data', () => socket.write('-WRONGPASS invalid username-password pair or user is disabled.\r\n')));
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  const { port } = fake.address() as { port: number };
  const lines: string[] = [];
  // The logger gatehouse.ts makes, writing here instead of stdout.
  const log = pino({ level: 'info', ...LOG_OPTIONS }, { write: (line: string) => void lines.push(line) });
  const health = new Health(log, Date.now);
  const config = {
    redis: { url: `redis://127.0.0.1:${port}`, username: 'gatehouse', sentinels: [], commandTimeoutMs: 250 },
    redisPassword: PASSWORD,
  };
  const redis = await connectRedis(config as never, 'gateway');
  health.register(REDIS_CONNECTION, false);
  redis.on('error', (error: unknown) => health.failed(REDIS_CONNECTION, error));
  try {
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && lines.length === 0) await new Promise((r) => setTimeout(r, 50));
    assert.ok(lines.length > 0, 'the failure is logged');
    assert.match(lines[0]!, /WRONGPASS/, 'with what Redis said');
    for (const line of lines) assert.ok(!line.includes(PASSWORD), `the Redis password is in a log line: ${line}`);
  } finally {
    redis.disconnect();
    await new Promise((resolve) => fake.close(resolve));
  }
});
