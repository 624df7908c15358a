import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli.ts';
import { anotherKey, call, startSeeded, type Harness, type Seeded } from './support/harness.ts';

/**
 * A rotated key in its grace whose successor was then reported compromised: the successor is revoked,
 * and its replacement continues the line (`replacedBy`). The line's working key is that replacement.
 * The drain view and task counted none (the walk stopped at the revoked successor), so the key was
 * shown as the line's last working key and never retired, however quiet; and a rotation or compromise
 * of the key took the revoked successor for a dead end and issued another key beside the replacement.
 */
describe('a rotated key whose successor was compromised and replaced', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  const cli = (args: string[]) => runCli(args, { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey });

  /** k1 rotated to k2 (k1 in its grace), k2 compromised: r replaces it. */
  const replacedSuccessor = async (rotation: Record<string, unknown> = {}) => {
    const k1 = await anotherKey(h, ids);
    const rotated = await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600, ...rotation });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    const k2 = rotated.body;
    const compromised = await h.admin('POST', `/keys/${k2.id}/compromised`, { reason: 'leaked in a paste' });
    assert.equal(compromised.status, 200, JSON.stringify(compromised.body));
    const r = compromised.body.replacement as { id: string; secret: string };
    assert.ok(r, 'k2 had no successor: it gets a replacement');
    assert.equal((await call(h, '/orders/x', { key: r.secret })).status, 200, 'the replacement works');
    return { k1, k2, r };
  };

  test('the drain view names the working replacement and may suggest retiring the key', async () => {
    const { k1, r } = await replacedSuccessor();
    const drain = (await h.admin('GET', `/keys/${k1.id}`)).body.drain;
    assert.equal(drain.successorId, r.id, JSON.stringify(drain));
    assert.equal(drain.quiet, true);
    assert.equal(drain.retirable, true);
    const shown = await cli(['keys', 'show', k1.id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.doesNotMatch(shown.stdout, /its successor no longer works/);
    assert.match(shown.stdout, /safe to retire/);
  });

  test('the drain task retires the quiet key while the replacement works', async () => {
    const { k1, r } = await replacedSuccessor({ retire: 'when-drained', quietPeriodSeconds: 60 });
    h.clock.advance(120_000);
    assert.deepEqual((await h.gh.rotation.retireDrained()).retired, [k1.id]);
    const retired = (await h.admin('GET', `/keys/${k1.id}`)).body;
    assert.equal(retired.revokedReason, 'drained');
    assert.equal((await call(h, '/orders/x', { key: r.secret })).status, 200, 'the line keeps its working key');
  });

  test('a replacement that is revoked in turn: no working key, the key is kept', async () => {
    const { k1, r } = await replacedSuccessor({ retire: 'when-drained', quietPeriodSeconds: 60 });
    assert.equal((await h.admin('POST', `/keys/${r.id}/revoke`, { reason: 'by mistake' })).status, 200);
    assert.equal((await h.admin('GET', `/keys/${k1.id}`)).body.drain.successorId, null);
    h.clock.advance(120_000);
    assert.deepEqual((await h.gh.rotation.retireDrained()).retired, []);
    assert.equal((await call(h, '/orders/x', { key: k1.secret })).status, 200);
  });

  test('rotating the key again is refused: its line has a working key, the replacement, to rotate instead', async () => {
    const { k1, r } = await replacedSuccessor();
    const res = await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 0 });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.match(res.body.detail, new RegExp(`rotate its successor ${r.id}`));
  });

  test('compromising the key issues no second working key: the replacement stands in its place', async () => {
    const { k1, k2, r } = await replacedSuccessor();
    const res = await h.admin('POST', `/keys/${k1.id}/compromised`, { reason: 'leaked too' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.replacement, null, JSON.stringify(res.body));
    assert.equal(res.body.successorId, r.id);
    assert.equal(res.body.key.replacedBy, k2.id, 'the stored successor stays');
    assert.equal((await call(h, '/orders/x', { key: k1.secret })).status, 401);
    assert.equal((await call(h, '/orders/x', { key: r.secret })).status, 200);
  });
});
