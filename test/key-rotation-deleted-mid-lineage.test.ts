import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { anotherKey, expectProblem, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * One rotation in grace per lineage: a rotation is refused while an earlier key of the lineage is in
 * its grace, found by walking back through `rotatedFrom`. A key an operator deleted mid-lineage ended
 * that walk, so a key in its grace before the deleted one went unseen and a third key of the lineage
 * was made working. A missing link now ends the walk by asking the store for the lineage's key in grace.
 */
describe('the one-rotation-in-grace rule across a key deleted mid-lineage', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  const rotate = async (id: string, gracePeriodSeconds: number) => {
    const res = await h.admin('POST', `/keys/${id}/rotate`, { gracePeriodSeconds });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string };
  };
  const remove = async (id: string) => assert.equal((await h.admin('DELETE', `/keys/${id}`)).status, 204);

  test('a key in its grace before the deleted one still refuses a rotation; once its grace is over, the rotation is allowed', async () => {
    const k1 = await anotherKey(h, ids);
    const k2 = await rotate(k1.id, 3600);
    const k3 = await rotate(k2.id, 0); // k2 ends at once: k1 (in grace) and k3 work
    await remove(k2.id);
    const refused = await h.admin('POST', `/keys/${k3.id}/rotate`, { gracePeriodSeconds: 60 });
    expectProblem(refused, 409, 'ROTATION_IN_PROGRESS');
    assert.match(refused.body.detail, new RegExp(k1.id));

    h.clock.advance(3600_000);
    await rotate(k3.id, 60);
  });

  test('a deleted key that was the one in grace, or one before a line with no grace left, refuses nothing', async () => {
    const k1 = await anotherKey(h, ids);
    const k2 = await rotate(k1.id, 3600);
    await remove(k1.id); // the key in its grace is gone: only k2 works
    await rotate(k2.id, 60);

    const k4 = await anotherKey(h, ids);
    const k5 = await rotate(k4.id, 0);
    const k6 = await rotate(k5.id, 0);
    await remove(k5.id);
    await rotate(k6.id, 60);
  });
});
