import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli.ts';
import { anotherKey, call, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * A rotated key in its grace period whose successor was revoked, expired or deleted since is the last
 * working key of its line: the drain view names no dead successor and never suggests retiring it, and
 * the drain task does not retire it, however quiet. It named the stored successor and said "it can be
 * revoked now", and the task revoked it, leaving no working key.
 */
describe('draining a rotated key whose successor no longer works', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  const cli = (args: string[]) => runCli(args, { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey });
  const newKey = () => anotherKey(h, ids);
  const kill = async (id: string, how: 'revoke' | 'delete') => {
    const res = how === 'revoke' ? await h.admin('POST', `/keys/${id}/revoke`, { reason: 'by mistake' }) : await h.admin('DELETE', `/keys/${id}`);
    assert.ok(res.status === 200 || res.status === 204, JSON.stringify(res.body));
  };

  for (const how of ['revoke', 'delete'] as const) {
    test(`successor ${how}d: the drain view names no successor and suggests no retirement`, async () => {
      const k1 = await newKey();
      const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
      await kill(k2.id, how);
      const drain = (await h.admin('GET', `/keys/${k1.id}`)).body.drain;
      assert.equal(drain.successorId, null, JSON.stringify(drain));
      assert.equal(drain.quiet, true);
      assert.equal(drain.retirable, false, 'the last working key of the line is never to be retired');
      const shown = await cli(['keys', 'show', k1.id]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.doesNotMatch(shown.stdout, /safe to retire|or at once with/);
      assert.match(shown.stdout, /its successor no longer works/);
    });
  }

  test('a successor rotated out in turn: the newest working key of the line is named', async () => {
    const k1 = await newKey();
    const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    const k3 = (await h.admin('POST', `/keys/${k2.id}/rotate`, { gracePeriodSeconds: 0 })).body;
    const drain = (await h.admin('GET', `/keys/${k1.id}`)).body.drain;
    assert.equal(drain.successorId, k3.id);
    assert.equal(drain.retirable, true);
  });

  test('the drain task does not retire a quiet key whose successor no longer works; it does once the line works again', async () => {
    const k1 = await newKey();
    const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600, retire: 'when-drained', quietPeriodSeconds: 60 })).body;
    await kill(k2.id, 'revoke');
    h.clock.advance(120_000);
    assert.deepEqual((await h.gh.rotation.retireDrained()).retired, []);
    assert.equal((await h.admin('GET', `/keys/${k1.id}`)).body.revokedAt, null);
    assert.equal((await call(h, '/orders/x', { key: k1.secret })).status, 200, 'the line keeps a working key');

    // A working successor: retired as before.
    const k3 = await newKey();
    const k4 = (await h.admin('POST', `/keys/${k3.id}/rotate`, { gracePeriodSeconds: 3600, retire: 'when-drained', quietPeriodSeconds: 60 })).body;
    h.clock.advance(120_000);
    assert.deepEqual((await h.gh.rotation.retireDrained()).retired, [k3.id]);
    assert.equal((await call(h, '/orders/x', { key: k4.secret })).status, 200);
  });
});
