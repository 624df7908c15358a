import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { usePrivateRedis } from '../../test/support/redis-clients.ts';
import { Health } from '../telemetry/health.ts';
import { FallbackReplaySet, RedisReplaySet, REDIS_REPLAY_SET } from './redis-replay-set.ts';
import { replaySetContract } from './replay-set-contract.ts';
import { MemoryReplaySet, sharedReplaySet } from './replay-set.ts';
import { SharedTable } from '../limits/shared-table.ts';
import { SharedSlotState } from '../limits/slot-state.ts';

const privateRedis = usePrivateRedis();

let prefixes = 0;
replaySetContract('redis', () => new RedisReplaySet(privateRedis.shared, `test${++prefixes}:`));

describe('DPoP replay set in Redis', () => {
  const NOW = Date.now();

  test('an id used at one node is a replay at every other', async () => {
    const prefix = `nodes${++prefixes}:`;
    const [a, b] = [new RedisReplaySet(await privateRedis.client(), prefix), new RedisReplaySet(await privateRedis.client(), prefix)];
    assert.equal(await a.firstUse('jkt:jti', NOW, NOW + 120_000), 'first');
    assert.equal(await b.firstUse('jkt:jti', NOW, NOW + 120_000), 'replayed');
  });

  test('an id is one key that Redis forgets when its time comes, naming no proof', async () => {
    const prefix = `expiry${++prefixes}:`;
    await new RedisReplaySet(privateRedis.shared, prefix).firstUse('jkt:jti', NOW, NOW + 120_000);
    const keys = await privateRedis.shared.keys(`${prefix}*`);
    assert.equal(keys.length, 1);
    assert.match(keys[0]!, /^expiry\d+:\{dpop:[\w-]{22}\}:seen$/);
    const ttl = await privateRedis.shared.pttl(keys[0]!);
    assert.ok(ttl > 119_000 && ttl <= 120_000, `kept for the proof's lifetime, not ${ttl} ms`);
  });

  test('with Redis away: fail-closed cannot check (refused), local checks in this node only; readiness warns', async () => {
    const health = new Health(pino({ level: 'silent' }), Date.now);
    const set = new FallbackReplaySet(new RedisReplaySet(await privateRedis.client(), `outage${++prefixes}:`), new MemoryReplaySet(), {
      whenUnavailable: 'local',
      health,
    });
    assert.equal(await set.firstUse('jkt:before', NOW, NOW + 120_000), 'first');
    await privateRedis.server.pause();
    try {
      assert.equal(await set.firstUse('jkt:closed', NOW, NOW + 120_000, 'fail-closed'), 'unavailable');
      assert.equal(await set.firstUse('jkt:local', NOW, NOW + 120_000), 'first', 'the deployment default: local');
      assert.equal(await set.firstUse('jkt:local', NOW, NOW + 120_000), 'replayed', 'seen at this node');
      assert.equal(health.report().components[REDIS_REPLAY_SET]!.ok, false);
    } finally {
      await privateRedis.server.resume();
    }
  });
});

/** Redis as a node sees it: away while `away` is set, then back with what it received (nothing from the outage). */
function redisAwayAndBack() {
  const state = { away: false };
  const redis = new MemoryReplaySet();
  const shared = {
    firstUse: (id: string, now: number, forgetAt: number) => {
      if (state.away) throw new Error('connect ECONNREFUSED');
      return redis.firstUse(id, now, forgetAt);
    },
    sweep: () => undefined,
  };
  return { state, shared };
}

describe('DPoP replay set: after a Redis outage', () => {
  const NOW = Date.now();

  test('a proof first used at this node while Redis was away (local) is still a replay here once Redis is back', async () => {
    const { state, shared } = redisAwayAndBack();
    const set = new FallbackReplaySet(shared, new MemoryReplaySet(), { whenUnavailable: 'local', health: new Health(pino({ level: 'silent' }), Date.now) });
    state.away = true;
    assert.equal(await set.firstUse('jkt:during', NOW, NOW + 120_000), 'first');
    state.away = false;
    assert.equal(await set.firstUse('jkt:during', NOW + 5_000, NOW + 125_000), 'replayed', 'the same proof again, at the same node, inside its window');
    assert.equal(await set.firstUse('jkt:after', NOW + 5_000, NOW + 125_000), 'first');
    assert.equal(await set.firstUse('jkt:after', NOW + 6_000, NOW + 126_000), 'replayed');
  });
});

describe('DPoP replay set: after a Redis outage, at another thread of the node', () => {
  const NOW = Date.now();

  test("a proof first used at one gateway thread while Redis was away is a replay at the node's other threads once Redis is back", async () => {
    const { state, shared } = redisAwayAndBack();
    // Each thread has its own FallbackReplaySet over the node's one local set (the workers' shared table).
    const local = sharedReplaySet(new SharedTable(SharedTable.allocate(4096)));
    const health = new Health(pino({ level: 'silent' }), Date.now);
    const worker1 = new FallbackReplaySet(shared, local, { whenUnavailable: 'local', health });
    const worker2 = new FallbackReplaySet(shared, local, { whenUnavailable: 'local', health });
    state.away = true;
    assert.equal(await worker1.firstUse('jkt:during', NOW, NOW + 120_000), 'first');
    state.away = false;
    assert.equal(await worker2.firstUse('jkt:during', NOW + 5_000, NOW + 125_000), 'replayed', 'the same proof again, at the same node, inside its window');
  });
});

describe('DPoP replay set: a Redis outage with the local set full', () => {
  const NOW = Date.now();

  test('a proof is refused while Redis is away if the mark that keeps it a replay afterwards cannot be recorded (RFC 9449 §11.1)', async () => {
    const { state, shared } = redisAwayAndBack();
    // Two stripes of 64 slots: the mark's stripe is filled with live entries, the proof's is not.
    const table = new SharedTable(SharedTable.allocate(128));
    const markStripe = table.name('dpop:\u0000local-until').stripe;
    const filler = new SharedSlotState(table, 'other:');
    for (let i = 0, filled = 0; filled < 64; i++) {
      if (table.name(`other:${i}`).stripe === markStripe) filled += filler.update(`${i}`, NOW, () => NOW + 600_000) ? 1 : 0;
    }
    let jti = 0;
    while (table.name(`dpop:jkt:during-${jti}`).stripe === markStripe) jti++;
    const proof = `jkt:during-${jti}`;
    const set = new FallbackReplaySet(shared, sharedReplaySet(table), { whenUnavailable: 'local', health: new Health(pino({ level: 'silent' }), Date.now) });
    state.away = true;
    const during = await set.firstUse(proof, NOW, NOW + 120_000);
    state.away = false;
    const after = await set.firstUse(proof, NOW + 5_000, NOW + 125_000);
    assert.equal(during, 'unavailable', 'no mark, no acceptance: Redis will not know this proof was used');
    assert.equal(after, 'first', 'the proof was never accepted before');
  });
});
