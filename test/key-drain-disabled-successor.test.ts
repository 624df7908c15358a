import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { anotherKey, call, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * A successor that is disabled (by an operator, or by the exposure policy) cannot authenticate: it is
 * no working key of the line. A rotated key whose successor is disabled is never drained nor shown as
 * retirable: the drain task revoked it, leaving the line with no key that authenticates.
 */
describe('draining a rotated key whose successor is disabled', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  const rotateWhenDrained = async (id: string) => {
    const res = await h.admin('POST', `/keys/${id}/rotate`, { gracePeriodSeconds: 3600, retire: 'when-drained', quietPeriodSeconds: 60 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string; secret: string };
  };
  const disable = async (id: string) => {
    const res = await h.admin('PATCH', `/keys/${id}`, { enabled: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };

  test('the drain task does not retire it, however quiet; it does once the successor is enabled again', async () => {
    const k1 = await anotherKey(h, ids);
    const k2 = await rotateWhenDrained(k1.id);
    await disable(k2.id);
    h.clock.advance(120_000);
    assert.deepEqual((await h.gh.rotation.retireDrained()).retired, []);
    assert.equal((await h.admin('GET', `/keys/${k1.id}`)).body.revokedAt, null);
    assert.equal((await call(h, '/orders/x', { key: k1.secret })).status, 200, 'the line keeps a key that authenticates');

    const enabled = await h.admin('PATCH', `/keys/${k2.id}`, { enabled: true });
    assert.equal(enabled.status, 200, JSON.stringify(enabled.body));
    h.clock.advance(120_000); // quiet again after the request above
    assert.deepEqual((await h.gh.rotation.retireDrained()).retired, [k1.id]);
  });

  test('the drain view names no successor and suggests no retirement', async () => {
    const k1 = await anotherKey(h, ids);
    const k2 = await rotateWhenDrained(k1.id);
    await disable(k2.id);
    const drain = (await h.admin('GET', `/keys/${k1.id}`)).body.drain;
    assert.equal(drain.successorId, null, JSON.stringify(drain));
    assert.equal(drain.retirable, false);
  });
});
