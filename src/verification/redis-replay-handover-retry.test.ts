import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { waitFor } from '../../test/support/wait.ts';
import { Health } from '../telemetry/health.ts';
import { REDIS_REPLAY_SET, redisReplaySetWithFallback } from './redis-replay-set.ts';
import { MemoryReplaySet } from './replay-set.ts';

test('ids recorded while Redis stalled on a connection that never dropped reach Redis without another DPoP request at this thread', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const NOW = Date.now();
  const keys = new Set<string>();
  const state = { away: true };
  // ioredis's SET NX as RedisReplaySet sends it; a stalled server times commands out but keeps the
  // connection, so no 'ready' follows when it answers again (a partition that heals, a long fork).
  const redis = Object.assign(new EventEmitter(), {
    set: async (key: string) => {
      if (state.away) throw new Error('Command timed out');
      if (keys.has(key)) return null;
      keys.add(key);
      return 'OK';
    },
  });
  const health = new Health(pino({ level: 'silent' }), Date.now);
  const set = redisReplaySetWithFallback(redis as unknown as Redis, new MemoryReplaySet(), { whenUnavailable: 'local', health, clock: () => NOW + 5_000 });
  assert.equal(await set.firstUse('jkt:stalled', NOW, NOW + 120_000), 'first', 'recorded in this node’s set');
  state.away = false;
  // This thread takes no DPoP request now (another node is asked to accept the replay meanwhile).
  t.mock.timers.tick(60_000);
  await waitFor(async () => health.report().components[REDIS_REPLAY_SET]!.ok, { what: 'the outage’s ids handed over', timeoutMs: 2_000 });
  assert.equal(keys.size, 1, 'Redis holds the id, so another node refuses its replay');
});
