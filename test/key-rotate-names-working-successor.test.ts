import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { anotherKey, expectProblem, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * Rotating a key that was rotated already is refused with the key to rotate instead: the newest working
 * one of its line. It named the stored successor whatever became of it, sending the caller to a key
 * revoked or deleted since (whose own rotation is refused, or 404), or to one rotated out in turn.
 * (Inside its grace, a key whose successor no longer works is rotated again: key-rotate-dead-successor.test.ts.)
 */
describe('rotating a rotated key names a successor that works', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  const newKey = () => anotherKey(h, ids);
  const rotate = (id: string, gracePeriodSeconds = 3600) => h.admin('POST', `/keys/${id}/rotate`, { gracePeriodSeconds });

  test('the successor revoked or deleted and the grace period over: the answer says so, and names no key to rotate', async () => {
    for (const how of ['revoke', 'delete'] as const) {
      const k1 = await newKey();
      const k2 = (await rotate(k1.id)).body;
      if (how === 'revoke') assert.equal((await h.admin('POST', `/keys/${k2.id}/revoke`, { reason: 'by mistake' })).status, 200);
      else assert.equal((await h.admin('DELETE', `/keys/${k2.id}`)).status, 204);
      h.clock.advance(3_600_000);
      const res = await rotate(k1.id);
      expectProblem(res, 409, 'CONFLICT');
      assert.doesNotMatch(res.body.detail, /rotate its successor/, res.body.detail);
      assert.match(res.body.detail, new RegExp(`successor ${k2.id} no longer works`));
    }
  });

  test('the successor rotated out in turn: its own successor is the one named', async () => {
    const k1 = await newKey();
    const k2 = (await rotate(k1.id)).body;
    const k3 = (await rotate(k2.id, 0)).body;
    const res = await rotate(k1.id);
    expectProblem(res, 409, 'CONFLICT');
    assert.match(res.body.detail, new RegExp(`rotate its successor ${k3.id}$`), res.body.detail);
  });
});
