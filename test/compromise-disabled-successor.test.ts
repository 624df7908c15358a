import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { anotherKey, call, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * A rotated key whose successor is disabled: the successor is in use (an operator may enable it
 * again, so no replacement is issued beside it) but does not work. A compromise of the old key still
 * revokes it at once; since no key of the line works after it, the answer, the audit entry, the
 * `key.compromised` event and an exposure report say so and what to do, instead of naming the
 * disabled successor as the key that replaces it.
 */
describe('compromising a rotated key whose successor is disabled', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  /** k1 rotated to k2 (k1 in its grace), k2 disabled by an operator or by an exposure report. */
  const rotatedWithDisabledSuccessor = async (by: 'operator' | 'exposure') => {
    const k1 = await anotherKey(h, ids);
    const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    const disabled =
      by === 'operator'
        ? await h.admin('PATCH', `/keys/${k2.id}`, { enabled: false })
        : await h.admin('POST', `/keys/${k2.id}/exposed`, { source: 'operator', where: 'a public paste', action: 'disable' });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    assert.equal((await call(h, '/orders/x', { key: k2.secret })).status, 401, 'the successor does not work');
    assert.equal((await call(h, '/orders/x', { key: k1.secret })).status, 200, 'the old key still does');
    return { k1, k2 };
  };

  test('the leaked key is revoked at once, and the answer says no key of its line works and how to get one', async () => {
    const { k1, k2 } = await rotatedWithDisabledSuccessor('operator');
    const res = await h.admin('POST', `/keys/${k1.id}/compromised`, { reason: 'leaked in a paste' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await call(h, '/orders/x', { key: k1.secret })).status, 401, 'the leaked key is refused');
    assert.equal(res.body.replacement, null, 'no second key of the line that could work once the successor is enabled');
    assert.equal(res.body.successorId, k2.id);
    assert.equal(res.body.successorWorks, false);
    assert.doesNotMatch(res.body.summary, /replaces it/);
    assert.match(res.body.summary, new RegExp(`its successor ${k2.id} is disabled: no key of its line works`));
    assert.match(res.body.summary, new RegExp(`gatehouse keys enable ${k2.id}`));
    const entry = (await h.admin('GET', `/audit?targetId=${k1.id}&action=key.compromised`)).body.items[0];
    assert.equal(entry.after.compromise.successorId, k2.id);
    assert.equal(entry.after.compromise.successorWorks, false);
    const event = (await h.gh.ctx.store.events.after(0, 1000)).find((e) => e.type === 'key.compromised' && (e.data as any).key.id === k1.id);
    assert.ok(event, 'key.compromised announced');
    assert.equal((event.data as any).successorId, k2.id);
    assert.equal((event.data as any).successorWorks, false);
    // Enabling it is the operator's call; it then works as the line's key.
    assert.equal((await h.admin('PATCH', `/keys/${k2.id}`, { enabled: true })).status, 200);
    assert.equal((await call(h, '/orders/x', { key: k2.secret })).status, 200);
  });

  test('a successor the exposure policy disabled (its own secret is out): the answer says to report it compromised, not to enable it', async () => {
    const { k1, k2 } = await rotatedWithDisabledSuccessor('exposure');
    const res = await h.admin('POST', `/keys/${k1.id}/compromised`, { reason: 'leaked in a paste' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.successorWorks, false);
    assert.match(res.body.summary, new RegExp(`its successor ${k2.id} is disabled: no key of its line works`));
    assert.match(res.body.summary, new RegExp(`gatehouse keys compromised ${k2.id}`));
    assert.doesNotMatch(res.body.summary, /keys enable/);
    const replaced = await h.admin('POST', `/keys/${k2.id}/compromised`, { reason: 'leaked with its predecessor' });
    assert.equal((await call(h, '/orders/x', { key: replaced.body.replacement.secret })).status, 200, 'which gives the line a working key');
  });

  test('a working successor: successorWorks true, the summary unchanged', async () => {
    const k1 = await anotherKey(h, ids);
    const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    const res = await h.admin('POST', `/keys/${k1.id}/compromised`, { reason: 'leaked in a paste' });
    assert.equal(res.body.successorWorks, true);
    assert.match(res.body.summary, new RegExp(`its successor ${k2.id} replaces it`));
    const fresh = await h.admin('POST', `/keys/${(await anotherKey(h, ids)).id}/compromised`, { reason: 'leaked' });
    assert.equal(fresh.body.successorWorks, null, 'no successor');
  });

  test('an exposure report asking for revoke-and-replace revokes the key and says its successor is disabled', async () => {
    const { k1, k2 } = await rotatedWithDisabledSuccessor('operator');
    const res = await h.admin('POST', `/keys/${k1.id}/exposed`, { source: 'operator', where: 'a public paste', action: 'revoke-and-replace' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.step.action, 'revoke', JSON.stringify(res.body.step));
    assert.doesNotMatch(res.body.step.why, /successor is its replacement/);
    assert.match(res.body.step.why, new RegExp(`its successor ${k2.id} is disabled`));
    assert.equal((await call(h, '/orders/x', { key: k1.secret })).status, 401, 'the leaked key is refused');
    const exposed = (await h.admin('GET', `/audit?targetId=${k1.id}&action=key.exposed`)).body.items[0];
    assert.match(exposed.after.exposure.why, /is disabled: no key of its line works/);
  });
});
