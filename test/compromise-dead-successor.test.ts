import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { anotherKey, call, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * Revoke-and-replace leaves the caller with one working key. A key rotated earlier, still in its grace
 * period, is revoked without a new replacement only while its successor works: a successor revoked,
 * expired or deleted since replaces nothing, so the compromise issues a replacement, and the answer,
 * the audit entry, the `key.compromised` event and an exposure report say what happened.
 */
describe('compromising a rotated key whose successor no longer works', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  const newKey = () => anotherKey(h, ids);
  /** k1 rotated to k2 (k1 in its grace), and k2 killed as `how` says. */
  const rotatedWithDeadSuccessor = async (how: 'revoke' | 'delete') => {
    const k1 = await newKey();
    const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    const killed =
      how === 'revoke' ? await h.admin('POST', `/keys/${k2.id}/revoke`, { reason: 'retired by mistake' }) : await h.admin('DELETE', `/keys/${k2.id}`);
    assert.ok(killed.status === 200 || killed.status === 204, JSON.stringify(killed.body));
    return { k1, k2 };
  };
  const compromisedEvent = async (keyId: string) => {
    const entries = (await h.admin('GET', `/audit?targetId=${keyId}&action=key.compromised`)).body.items;
    assert.equal(entries.length, 1);
    return entries[0].after.compromise;
  };

  for (const how of ['revoke', 'delete'] as const) {
    test(`successor ${how}d: a replacement is issued and works, and the answer names no dead successor`, async () => {
      const { k1, k2 } = await rotatedWithDeadSuccessor(how);
      const res = await h.admin('POST', `/keys/${k1.id}/compromised`, { reason: 'leaked in a paste' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.replacement, `a replacement is issued: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.successorId, null);
      assert.equal(res.body.key.replacedBy, res.body.replacement.id);
      assert.match(res.body.summary, new RegExp(`replacement ${res.body.replacement.id} issued`));
      assert.equal((await call(h, '/orders/x', { key: res.body.replacement.secret })).status, 200, 'the replacement works');
      assert.equal((await call(h, '/orders/x', { key: k1.secret })).status, 401, 'the leaked key does not');
      const compromise = await compromisedEvent(k1.id);
      assert.equal(compromise.replacement.id, res.body.replacement.id);
      assert.equal(compromise.supersededSuccessorId, k2.id);
    });
  }

  test("the replacement keeps the lineage's own expiry, not the grace period's end the rotation gave the compromised key", async () => {
    const expiresAt = new Date(h.clock.read() + 30 * 86_400_000).toISOString();
    for (const how of ['revoke', 'delete'] as const) {
      const k1 = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], expiresAt })).body;
      const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
      assert.equal(k2.expiresAt, expiresAt);
      if (how === 'revoke') assert.equal((await h.admin('POST', `/keys/${k2.id}/revoke`, { reason: 'by mistake' })).status, 200);
      else assert.equal((await h.admin('DELETE', `/keys/${k2.id}`)).status, 204);
      const res = await h.admin('POST', `/keys/${k1.id}/compromised`, { reason: 'leaked in a paste' });
      assert.equal(res.body.replacement?.expiresAt, expiresAt, `${how}: ${JSON.stringify(res.body.replacement)}`);
    }
    const k1 = await newKey();
    const rotated = await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600, retire: 'when-drained', quietPeriodSeconds: 60 });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    assert.equal((await h.admin('DELETE', `/keys/${rotated.body.id}`)).status, 204);
    const replacement = (await h.admin('POST', `/keys/${k1.id}/compromised`, { reason: 'leaked in a paste' })).body.replacement;
    assert.equal(replacement.expiresAt, null, 'no expiry before the rotation: none now');
    assert.equal(replacement.retireWhenDrained, undefined, "the old key's drain is not the replacement's");
    h.clock.advance(2 * 3_600_000);
    assert.equal((await call(h, '/orders/x', { key: replacement.secret })).status, 200, 'the replacement outlives the grace period');
  });

  test('a successor rotated out in turn: its own working successor replaces the key, and is the one named', async () => {
    const k1 = await newKey();
    const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    const k3 = (await h.admin('POST', `/keys/${k2.id}/rotate`, { gracePeriodSeconds: 0 })).body;
    const res = await h.admin('POST', `/keys/${k1.id}/compromised`, { reason: 'leaked in a paste' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.replacement, null, 'k3 works: no second working key');
    assert.equal(res.body.successorId, k3.id);
    assert.match(res.body.summary, new RegExp(`its successor ${k3.id} replaces it`));
    assert.equal(res.body.key.replacedBy, k2.id, 'the stored successor stays');
  });

  test('a working successor is still not replaced', async () => {
    const k1 = await newKey();
    const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    const res = await h.admin('POST', `/keys/${k1.id}/compromised`, { reason: 'leaked in a paste' });
    assert.equal(res.body.replacement, null);
    assert.equal(res.body.successorId, k2.id);
    assert.equal((await compromisedEvent(k1.id)).supersededSuccessorId, undefined);
  });

  test('an exposure report asking for revoke-and-replace issues the replacement and says so', async () => {
    const { k1 } = await rotatedWithDeadSuccessor('revoke');
    const res = await h.admin('POST', `/keys/${k1.id}/exposed`, { source: 'operator', where: 'a public paste', action: 'revoke-and-replace' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.step.action, 'revoke-and-replace', JSON.stringify(res.body.step));
    assert.ok(res.body.replacementId);
    const exposed = (await h.admin('GET', `/audit?targetId=${k1.id}&action=key.exposed`)).body.items[0];
    assert.equal(exposed.after.exposure.action, 'revoke-and-replace');
  });
});
