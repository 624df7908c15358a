import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { markExposed } from '../src/control/services/exposure.ts';
import { keysService } from '../src/control/services/keys.ts';
import { call, seed, startHarness, type Harness, type Seeded } from './support/harness.ts';

/**
 * A revocation is final (domain/key-lifecycle.ts), also when another change to the key is under way:
 * each service reads the key, awaits the store, then writes the whole key back. With PostgreSQL every
 * await is a round trip, so an operator's PATCH, a rotation, the drain task or the exposure policy
 * run interleaved with a revoke; here Promise.all interleaves them the same way on SQLite.
 */
describe('a revocation or a disable is not undone by a change made at the same time', () => {
  let h: Harness;
  let ids: Seeded;
  const actor = { actor: 'test', requestId: null };
  before(async () => {
    h = await startHarness();
    ids = await seed(h);
  });
  after(() => h.close());

  const fresh = async () => {
    const made = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    assert.equal(made.status, 201);
    assert.equal((await call(h, '/orders/x', { key: made.body.secret })).status, 200);
    return made.body as { id: string; secret: string };
  };

  test('a rename read before a revoke and written after it keeps the key revoked', async () => {
    const key = await fresh();
    const results = await Promise.allSettled([
      keysService.update(h.gh.ctx, actor, key.id, { name: 'renamed' }),
      keysService.revoke(h.gh.ctx, actor, key.id, 'leaked'),
    ]);
    assert.equal(results[1].status, 'fulfilled');
    const stored = (await h.gh.ctx.store.keys.get(key.id))!;
    assert.notEqual(stored.revokedAt, null, 'the revocation was overwritten by the rename');
    assert.equal((await call(h, '/orders/x', { key: key.secret })).status, 401, 'the revoked secret works again');
  });

  test('a rotation read before a revoke and written after it neither revives the key nor gives it a grace period', async () => {
    const key = await fresh();
    await Promise.allSettled([keysService.revoke(h.gh.ctx, actor, key.id, 'leaked'), keysService.rotate(h.gh.ctx, actor, key.id, 3600)]);
    const stored = (await h.gh.ctx.store.keys.get(key.id))!;
    assert.notEqual(stored.revokedAt, null, 'the rotation wrote the key back unrevoked');
    assert.equal((await call(h, '/orders/x', { key: key.secret })).status, 401, 'the revoked secret works for the grace period');
  });

  test('a disable (a leaked key, say) is not undone by a rename or a rotation read before it and written after it', async () => {
    for (const other of [
      (id: string) => keysService.update(h.gh.ctx, actor, id, { name: 'renamed' }),
      (id: string) => keysService.rotate(h.gh.ctx, actor, id, 3600),
    ]) {
      const key = await fresh();
      const [disable, change] = await Promise.allSettled([keysService.update(h.gh.ctx, actor, key.id, { enabled: false }), other(key.id)]);
      // One of the two may be refused (409: read it again), never both stored with one lost.
      assert.ok(disable.status === 'fulfilled' || change.status === 'fulfilled');
      if (disable.status === 'rejected') assert.equal((disable.reason as { code?: string }).code, 'CONFLICT');
      else {
        assert.equal((await h.gh.ctx.store.keys.get(key.id))!.enabled, false, 'the disable was overwritten');
        assert.equal((await call(h, '/orders/x', { key: key.secret })).status, 401, 'the disabled secret works again');
      }
    }
  });

  test('a leak reported while another change is made is acted on all the same: the key ends disabled', async () => {
    const key = await fresh();
    // The report's key was read before a rename landed (the gateway, a scanner or GitHub's report read it).
    const readBefore = (await h.gh.ctx.store.keys.get(key.id))!;
    await keysService.update(h.gh.ctx, actor, key.id, { name: 'renamed' });
    const exposed = await markExposed(h.gh.ctx, actor, readBefore, { source: 'operator', where: 'a chat message', action: 'disable' });
    assert.equal(exposed.key.enabled, false);
    const stored = (await h.gh.ctx.store.keys.get(key.id))!;
    assert.deepEqual([stored.enabled, stored.name], [false, 'renamed'], 'disabled, and the rename kept');
    assert.equal((await call(h, '/orders/x', { key: key.secret })).status, 401);
  });

  test("a leak's revoke-and-replace made from a read before an operator's disable issues its replacement disabled", async () => {
    const key = await fresh();
    // The report's key was read before the operator disabled it (the scanner or GitHub's report read it).
    const readBefore = (await h.gh.ctx.store.keys.get(key.id))!;
    await keysService.update(h.gh.ctx, actor, key.id, { enabled: false });
    const exposed = await markExposed(h.gh.ctx, actor, readBefore, { source: 'operator', where: 'a chat message', action: 'revoke-and-replace' });
    const replacement = exposed.compromise?.replacement;
    assert.ok(replacement, 'a replacement was issued');
    assert.equal((await h.gh.ctx.store.keys.get(replacement.key.id))!.enabled, false, 'the replacement of a key an operator disabled is enabled');
    assert.equal((await call(h, '/orders/x', { key: replacement.secret })).status, 401, "the replacement's secret works");
  });

  test('two rotations of one key at once make one successor, not two live ones', async () => {
    const key = await fresh();
    const results = await Promise.allSettled([keysService.rotate(h.gh.ctx, actor, key.id, 3600), keysService.rotate(h.gh.ctx, actor, key.id, 3600)]);
    const made = results.filter((r) => r.status === 'fulfilled');
    assert.equal(made.length, 1, 'both rotations issued a successor');
  });
});
