import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ApiKey } from '../src/domain/entities.ts';
import { anotherKey, call, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * The drain task retires a quiet rotated key only while its successor works. That check and the
 * revoke were two steps: a successor revoked or disabled between them left the line with no working
 * key. The store now revokes only if the successor still works, in the revoke's own transaction.
 */
describe('a successor revoked or disabled while the drain task retires its predecessor', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  const kills = {
    revoked: (id: string) => h.admin('POST', `/keys/${id}/revoke`, { reason: 'by mistake' }),
    disabled: (id: string) => h.admin('PATCH', `/keys/${id}`, { enabled: false }),
  };

  for (const [how, kill] of Object.entries(kills)) {
    test(`successor ${how} right after the task read it: the old key is not retired and still works`, async () => {
      const k1 = await anotherKey(h, ids);
      const rotated = await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600, retire: 'when-drained', quietPeriodSeconds: 60 });
      assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
      const k2 = rotated.body as { id: string };
      h.clock.advance(120_000);

      // The successor changes after the task has read it as working, before it revokes the old key.
      const keys = h.gh.ctx.store.keys;
      const get = keys.get;
      let armed = true;
      keys.get = async (id: string): Promise<ApiKey | null> => {
        const key = await get(id);
        if (armed && id === k2.id) {
          armed = false;
          const res = await kill(k2.id);
          assert.equal(res.status, 200, JSON.stringify(res.body));
        }
        return key;
      };
      let retired: string[];
      try {
        retired = (await h.gh.rotation.retireDrained()).retired;
      } finally {
        keys.get = get;
      }
      assert.equal(armed, false, 'the task read the successor');
      assert.deepEqual(retired, []);
      assert.equal((await h.admin('GET', `/keys/${k1.id}`)).body.revokedAt, null);
      assert.equal((await call(h, '/orders/x', { key: k1.secret })).status, 200, 'the line keeps a working key');
    });
  }
});
