import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signInConsole, startConsoleHarness } from './support/console.ts';
import { anotherKey, call, expectProblem, startSeeded, type Harness, type Seeded } from './support/harness.ts';
import type { AuthHarness } from './support/oauth.ts';

/**
 * A key in its rotation grace whose successor was revoked, expired or deleted since is the last working
 * key of its line: it may be rotated again, its new successor superseding the dead one (in the store,
 * only while that is still the stored successor and does not work). It was refused, leaving a portal
 * developer at maxKeysPerApp no way to a working key until the grace period ended (up to 7 days).
 */
describe('rotating a key in its grace whose successor no longer works', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  const newKey = (body: Record<string, unknown> = {}) => anotherKey(h, ids, body);

  for (const how of ['revoke', 'delete'] as const) {
    test(`successor ${how}d: the rotation gives a working successor with the lineage's expiry, and names the one it supersedes`, async () => {
      const expiresAt = new Date(h.clock.read() + 30 * 86_400_000).toISOString();
      const k1 = await newKey({ expiresAt });
      const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600, retire: 'when-drained', quietPeriodSeconds: 60 })).body;
      const killed = how === 'revoke' ? await h.admin('POST', `/keys/${k2.id}/revoke`, { reason: 'by mistake' }) : await h.admin('DELETE', `/keys/${k2.id}`);
      assert.ok(killed.status === 200 || killed.status === 204, JSON.stringify(killed.body));
      const graceEnd = (await h.admin('GET', `/keys/${k1.id}`)).body.expiresAt;

      const res = await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 7200 });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const k3 = res.body;
      assert.equal(k3.expiresAt, expiresAt, "the lineage's own expiry, not the grace period's end");
      assert.equal(k3.rotatedFrom, k1.id);
      assert.equal(res.body.previous.replacedBy, k3.id);
      assert.equal(res.body.previous.expiresAt, graceEnd, 'the grace period is never lengthened');
      assert.equal(res.body.previous.retireWhenDrained, undefined, "the earlier rotation's drain is dropped");
      assert.equal((await call(h, '/orders/x', { key: k3.secret })).status, 200, 'the new successor works');
      assert.equal((await call(h, '/orders/x', { key: k1.secret })).status, 200, 'the old key still works in its grace');
      assert.equal((await h.admin('GET', `/keys/${k1.id}`)).body.drain.successorId, k3.id);
      const [entry] = (await h.admin('GET', `/audit?targetId=${k1.id}&action=key.rotated`)).body.items;
      assert.equal(entry.after.supersededSuccessorId, k2.id);
      assert.equal(entry.after.successor.id, k3.id);
    });
  }

  test('a working successor is still not superseded: the rotation is refused, naming it', async () => {
    const k1 = await newKey();
    const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    const res = await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 });
    expectProblem(res, 409, 'CONFLICT');
    assert.match(res.body.detail, new RegExp(`rotate its successor ${k2.id}$`));
  });
});

describe('the portal: a developer at maxKeysPerApp whose rotated key lost its successor', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startConsoleHarness({}, 'portal:\n  signup: open\n  maxKeysPerApp: 2\n');
    await h.admin('POST', '/apis', { name: 'orders', listenPath: '/orders', upstreamUrl: h.upstream.url, portal: { listed: true } });
  });
  after(() => h.close());

  test('rotates it again for a working key', async () => {
    const c = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
    const app = (await c.call('POST', '/portal/v1/apps', { name: 'shop' })).body;
    const k1 = (await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {})).body;
    assert.equal((await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {})).status, 201);
    const k2 = (await c.call('POST', `/portal/v1/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    assert.equal((await h.admin('POST', `/keys/${k2.id}/revoke`, { reason: 'by mistake' })).status, 200);
    expectProblem(await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {}), 409, 'LIMIT_REACHED');

    const rotated = await c.call('POST', `/portal/v1/keys/${k1.id}/rotate`, { gracePeriodSeconds: 0 });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    assert.equal(rotated.body.status, 'active');
    assert.ok(rotated.body.secret);
  });
});
