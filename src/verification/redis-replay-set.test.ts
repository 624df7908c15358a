import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { usePrivateRedis } from '../../test/support/redis-clients.ts';
import { Health } from '../telemetry/health.ts';
import { FallbackReplaySet, RedisReplaySet, REDIS_REPLAY_SET, redisReplaySetWithFallback } from './redis-replay-set.ts';
import { waitFor } from '../../test/support/wait.ts';
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

describe('DPoP replay set: after a Redis outage, at another node', () => {
  const NOW = Date.now();
  const silentHealth = () => new Health(pino({ level: 'silent' }), Date.now);

  test('a proof first used at one node while Redis was away is a replay at another node once Redis is back (RFC 9449 §11.1)', async () => {
    const prefix = `handover${++prefixes}:`;
    const [redisA, redisB] = [await privateRedis.client(), await privateRedis.client()];
    const a = new FallbackReplaySet(new RedisReplaySet(redisA, prefix), new MemoryReplaySet(), { whenUnavailable: 'local', health: silentHealth() });
    const b = new FallbackReplaySet(new RedisReplaySet(redisB, prefix), new MemoryReplaySet(), { whenUnavailable: 'local', health: silentHealth() });
    await privateRedis.server.pause();
    try {
      assert.equal(await a.firstUse('jkt:during', NOW, NOW + 120_000), 'first', "recorded in A's own set");
    } finally {
      await privateRedis.server.resume();
    }
    await waitFor(async () => redisA.status === 'ready' && redisB.status === 'ready', { what: 'both nodes connected again' });
    assert.equal(await a.firstUse('jkt:after', NOW + 5_000, NOW + 125_000), 'first', 'A answers from Redis again');
    assert.equal(await b.firstUse('jkt:during', NOW + 5_000, NOW + 125_000), 'replayed', 'the proof A accepted during the outage, at B');
    const keys = await privateRedis.shared.keys(`${prefix}*`);
    const ttls = await Promise.all(keys.map((k) => privateRedis.shared.pttl(k)));
    assert.ok(
      ttls.every((ttl) => ttl > 100_000 && ttl <= 120_000),
      `kept until the proof is forgotten, not longer: ${ttls.join(', ')} ms`,
    );
  });

  test('the ids go to Redis as soon as the connection is ready again, before this node serves another DPoP request', async () => {
    const health = silentHealth();
    const [redisA, redisB] = [await privateRedis.client(), await privateRedis.client()];
    const a = redisReplaySetWithFallback(redisA, new MemoryReplaySet(), { whenUnavailable: 'local', health, clock: () => NOW });
    // The deployment's key prefix, as the wiring uses: an id no other test uses.
    const b = new FallbackReplaySet(new RedisReplaySet(redisB), new MemoryReplaySet(), { whenUnavailable: 'local', health: silentHealth() });
    const proof = `jkt:ready-${++prefixes}`;
    await privateRedis.server.pause();
    try {
      assert.equal(await a.firstUse(proof, NOW, NOW + 120_000), 'first');
      assert.equal(health.report().components[REDIS_REPLAY_SET]!.ok, false, 'readiness warns');
    } finally {
      await privateRedis.server.resume();
    }
    // Reported back only once the outage's ids are in Redis.
    await waitFor(async () => health.report().components[REDIS_REPLAY_SET]!.ok, { what: "A's ids handed over", timeoutMs: 10_000 });
    await waitFor(async () => redisB.status === 'ready', { what: 'B connected again' });
    assert.equal(await b.firstUse(proof, NOW + 5_000, NOW + 125_000), 'replayed');
  });

  test('a handover that fails is reported and tried again; ids whose time has passed are not copied', async () => {
    const { state, shared } = redisAwayAndBack();
    const copied: string[] = [];
    const watched = {
      firstUse: (id: string, now: number, forgetAt: number) => (state.away || copied.push(id), shared.firstUse(id, now, forgetAt)),
      sweep: () => undefined,
    };
    const health = silentHealth();
    const set = new FallbackReplaySet(watched, new MemoryReplaySet(), { whenUnavailable: 'local', health });
    state.away = true;
    assert.equal(await set.firstUse('jkt:early', NOW, NOW + 10_000), 'first');
    assert.equal(await set.firstUse('jkt:late', NOW + 1_000, NOW + 121_000), 'first');
    await set.handOver(NOW + 2_000);
    assert.equal(health.report().components[REDIS_REPLAY_SET]!.ok, false, 'still away: reported, ids kept');
    state.away = false;
    await set.handOver(NOW + 20_000);
    assert.deepEqual(copied, ['jkt:late'], 'the early proof can no longer pass its iat check: nothing to copy');
    assert.equal(health.report().components[REDIS_REPLAY_SET]!.ok, true);
    assert.equal(shared.firstUse('jkt:late', NOW + 20_000, NOW + 140_000), 'replayed', 'Redis holds it');
  });

  test('while Redis is away, a proof is refused once this node holds as many ids as it could hand over', async () => {
    const { state, shared } = redisAwayAndBack();
    const set = new FallbackReplaySet(shared, new MemoryReplaySet(), { whenUnavailable: 'local', health: silentHealth() });
    state.away = true;
    for (let i = 0; i < 100_000; i++) assert.equal(await set.firstUse(`jkt:${i}`, NOW, NOW + 120_000), 'first');
    assert.equal(await set.firstUse('jkt:one-too-many', NOW, NOW + 120_000), 'unavailable', 'not accepted: Redis could not be told of it');
    assert.equal(await set.firstUse('jkt:later', NOW + 121_000, NOW + 241_000), 'first', 'room again once the first ids are forgotten');
  });
});

describe('DPoP replay set: the outage ids handed over beside the requests', () => {
  const NOW = Date.now();

  test('a DPoP request after an outage does not wait for the outage ids to reach Redis, and they still do', async () => {
    const { state, shared } = redisAwayAndBack();
    let release!: () => void;
    const slowCopy = new Promise<void>((resolve) => (release = resolve));
    const copying = { on: false };
    const slow = {
      firstUse: async (id: string, now: number, forgetAt: number) => {
        // The handover's copy of the outage id is slow; the requests' own calls are not.
        if (copying.on && id === 'jkt:during') ((copying.on = false), await slowCopy);
        return shared.firstUse(id, now, forgetAt);
      },
      sweep: () => undefined,
    };
    const set = new FallbackReplaySet(slow, new MemoryReplaySet(), { whenUnavailable: 'local', health: new Health(pino({ level: 'silent' }), Date.now) });
    state.away = true;
    assert.equal(await set.firstUse('jkt:during', NOW, NOW + 120_000), 'first');
    state.away = false;
    copying.on = true;
    const answered = await Promise.race([
      set.firstUse('jkt:after', NOW + 5_000, NOW + 125_000),
      new Promise((resolve) => setTimeout(resolve, 2_000, 'waited')),
    ]);
    assert.equal(answered, 'first', 'answered while the copy is still under way');
    assert.equal(await set.firstUse('jkt:during', NOW + 5_000, NOW + 125_000), 'replayed', 'still a replay here meanwhile');
    release();
    await waitFor(() => shared.firstUse('jkt:during', NOW + 6_000, NOW + 126_000) === 'replayed', {
      timeoutMs: 5_000,
      what: 'the outage id in Redis',
    });
  });
});
