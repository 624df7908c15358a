import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { anotherKey, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * Every key made has an audit entry under its own id saying how it came to be: a rotation's
 * successor and a compromise's replacement (by hand or by an exposure report) as much as a key
 * created by hand, so `audit --target NEW_KEY_ID` tells its story from the start.
 */
describe('a key made by a rotation or a compromise is audited under its own id', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded({ GATEHOUSE_EXPOSURE_TEST: 'revoke-and-replace' })));
  after(() => h.close());

  const createdEntry = async (keyId: string) => {
    const entries = (await h.admin('GET', `/audit?targetId=${keyId}`)).body.items;
    const created = entries.filter((e: { action: string }) => e.action === 'key.created');
    assert.equal(created.length, 1, `one key.created entry under ${keyId}: ${JSON.stringify(entries.map((e: { action: string }) => e.action))}`);
    return created[0];
  };

  test("a rotation's successor: created via rotation, naming its predecessor", async () => {
    const k1 = await anotherKey(h, ids);
    const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    const entry = await createdEntry(k2.id);
    assert.match(entry.actor, /^admin_key:/, 'whoever rotated it');
    assert.equal(entry.before, null);
    assert.equal(entry.after.id, k2.id);
    assert.equal(entry.after.via, 'rotation');
    assert.equal(entry.after.predecessorId, k1.id);
    assert.equal(entry.after.hash, undefined, 'never the hash');
    // The key created by hand keeps its one entry, with no via.
    const own = await createdEntry(k1.id);
    assert.equal(own.after.via, undefined);
  });

  test("a compromise's replacement: created via compromise, with the reason and the predecessor", async () => {
    const k1 = await anotherKey(h, ids);
    const res = await h.admin('POST', `/keys/${k1.id}/compromised`, { reason: 'leaked in a paste' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const entry = await createdEntry(res.body.replacement.id);
    assert.equal(entry.after.via, 'compromise');
    assert.equal(entry.after.predecessorId, k1.id);
    assert.equal(entry.after.reason, 'leaked in a paste');
  });

  test("a dead successor's replacement names the successor it supersedes", async () => {
    const k1 = await anotherKey(h, ids);
    const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    assert.equal((await h.admin('POST', `/keys/${k2.id}/revoke`, { reason: 'by mistake' })).status, 200);
    const k3 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    const entry = await createdEntry(k3.id);
    assert.equal(entry.after.via, 'rotation');
    assert.equal(entry.after.predecessorId, k1.id);
    assert.equal(entry.after.supersededSuccessorId, k2.id);
  });

  test('an exposure report that revokes and replaces: the replacement is audited under its id', async () => {
    const k1 = await anotherKey(h, ids, { environment: 'test' });
    const res = await h.admin('POST', `/keys/${k1.id}/exposed`, { source: 'operator', where: 'a public paste' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.step.action, 'revoke-and-replace', JSON.stringify(res.body.step));
    const entry = await createdEntry(res.body.replacementId);
    assert.equal(entry.after.via, 'compromise');
    assert.equal(entry.after.predecessorId, k1.id);
    assert.equal(entry.after.reason, 'exposed (operator)');
  });
});
