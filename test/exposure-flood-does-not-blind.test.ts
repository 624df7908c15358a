import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateKey } from '../src/domain/key-format.ts';
import { startSeeded, type Harness, type Seeded } from './support/harness.ts';
import { waitFor } from './support/wait.ts';

/**
 * The gateway remembers the keys it saw in a query string or over plain HTTP, so one that keeps coming
 * is looked up once. It remembered at most 10,000 and then stopped looking at any new one for the
 * life of the process: anyone could send 10,001 made-up keys (the checksum is public) in query
 * strings, and no real key seen afterwards was ever marked exposed.
 */
describe('a flood of made-up keys in query strings does not stop exposures being marked', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  test('after 10,001 distinct made-up keys, a real key in a query string is still marked exposed', async () => {
    const send = async (secret: string) => {
      const res = await h.fetch(`${h.gh.gatewayUrl}/orders/x?api_key=${secret}`);
      await res.arrayBuffer();
      assert.equal(res.status, 400);
    };
    for (let sent = 0; sent < 10_001; sent += 50) await Promise.all(Array.from({ length: 50 }, () => send(generateKey('api', 'live').secret)));
    await send(ids.secret);
    await waitFor(async () => (await h.gh.ctx.store.keys.get(ids.keyId))?.exposedAt, { what: 'the real key marked exposed', timeoutMs: 10_000 });
  });
});
