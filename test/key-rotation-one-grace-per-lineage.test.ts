import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { anotherKey, call, expectProblem, startSeeded, type Harness, type Seeded } from './support/harness.ts';
import { signInConsole, startConsoleHarness } from './support/console.ts';
import type { AuthHarness } from './support/oauth.ts';

/**
 * A rotation replaces a key, it does not add one: the old key works for its grace period beside the
 * new one. A second rotation while that grace runs would leave three keys of one lineage working (and
 * a third, four...): it is refused, by the admin API and the portal alike, so a developer at the
 * portal's `maxKeysPerApp` can rotate but cannot pile up live keys by rotating again and again.
 */
describe('one rotation in grace per lineage', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  const newKey = () => anotherKey(h, ids);
  const working = async (...secrets: string[]) => {
    const statuses = [];
    for (const secret of secrets) statuses.push((await call(h, '/orders/x', { key: secret })).status);
    return statuses;
  };

  test('rotating the successor while the old key is in its grace is refused; grace 0 adds no key and is allowed; the grace over, rotation is allowed', async () => {
    const k1 = await newKey();
    const k2 = await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 });
    assert.equal(k2.status, 201, JSON.stringify(k2.body));
    expectProblem(await h.admin('POST', `/keys/${k2.body.id}/rotate`, { gracePeriodSeconds: 3600 }), 409, 'ROTATION_IN_PROGRESS');
    assert.deepEqual(await working(k1.secret, k2.body.secret), [200, 200], 'both keys still work: nothing was changed');

    // A grace period of 0 ends the rotated key at once: still two keys working.
    const k3 = await h.admin('POST', `/keys/${k2.body.id}/rotate`, { gracePeriodSeconds: 0 });
    assert.equal(k3.status, 201, JSON.stringify(k3.body));
    assert.deepEqual(await working(k1.secret, k2.body.secret, k3.body.secret), [200, 401, 200]);
    // k1 is still in its grace, behind the rotated-out k2.
    expectProblem(await h.admin('POST', `/keys/${k3.body.id}/rotate`, { gracePeriodSeconds: 60 }), 409, 'ROTATION_IN_PROGRESS');

    h.clock.advance(3600_000);
    const k4 = await h.admin('POST', `/keys/${k3.body.id}/rotate`, { gracePeriodSeconds: 60 });
    assert.equal(k4.status, 201, 'the first grace is over: one rotation in grace again');
  });

  test('revoking the key in its grace ends it, and the successor may be rotated', async () => {
    const k1 = await newKey();
    const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    expectProblem(await h.admin('POST', `/keys/${k2.id}/rotate`, {}), 409, 'ROTATION_IN_PROGRESS');
    assert.equal((await h.admin('POST', `/keys/${k1.id}/revoke`, { reason: 'clients moved' })).status, 200);
    assert.equal((await h.admin('POST', `/keys/${k2.id}/rotate`, {})).status, 201);
  });

  test("a compromise's replacement continues the lineage: it may not be rotated while a key before the compromised one is in its grace", async () => {
    const k1 = await newKey();
    const k2 = (await h.admin('POST', `/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    const compromised = await h.admin('POST', `/keys/${k2.id}/compromised`, { reason: 'leaked in a paste' });
    assert.equal(compromised.status, 200, JSON.stringify(compromised.body));
    const k3 = compromised.body.replacement;
    assert.ok(k3?.id, JSON.stringify(compromised.body));
    expectProblem(await h.admin('POST', `/keys/${k3.id}/rotate`, { gracePeriodSeconds: 3600 }), 409, 'ROTATION_IN_PROGRESS');
    assert.deepEqual(await working(k1.secret, k3.secret), [200, 200]);
  });
});

describe('the portal: a developer at maxKeysPerApp may rotate, but not pile up live keys by rotating again', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startConsoleHarness({}, 'portal:\n  signup: open\n  maxKeysPerApp: 2\n');
    await h.admin('POST', '/apis', { name: 'orders', listenPath: '/orders', upstreamUrl: h.upstream.url, portal: { listed: true } });
  });
  after(() => h.close());

  test('two keys (the limit): one rotation is allowed, a rotation of its successor in the grace is refused', async () => {
    const c = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
    const app = (await c.call('POST', '/portal/v1/apps', { name: 'shop' })).body;
    const k1 = (await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {})).body;
    assert.equal((await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {})).status, 201);
    expectProblem(await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {}), 409, 'LIMIT_REACHED');

    const rotated = await c.call('POST', `/portal/v1/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 });
    assert.equal(rotated.status, 201, 'rotation replaces a key: allowed at the limit');
    for (let i = 0; i < 3; i++) {
      expectProblem(await c.call('POST', `/portal/v1/keys/${rotated.body.id}/rotate`, { gracePeriodSeconds: 3600 }), 409, 'ROTATION_IN_PROGRESS');
    }
    const live = (await c.call('GET', `/portal/v1/apps/${app.id}/keys`)).body.items.filter((k: { status: string }) => k.status === 'active');
    assert.equal(live.length, 3, 'the two keys, and the one in its grace');
  });

  test('the key list says which keys may be rotated, by the rule the rotation applies, so the web app offers no rotation it would refuse', async () => {
    const c = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
    const app = (await c.call('POST', '/portal/v1/apps', { name: 'shop' })).body;
    const k1 = (await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {})).body;
    const other = (await c.call('POST', `/portal/v1/apps/${app.id}/keys`, {})).body;
    const k2 = (await c.call('POST', `/portal/v1/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 })).body;
    const listed = (await c.call('GET', `/portal/v1/apps/${app.id}/keys`)).body.items as { id: string; expiresAt: string; rotation: any }[];
    const rotation = (id: string) => listed.find((k) => k.id === id)!.rotation;
    assert.deepEqual(rotation(other.id), { allowed: true });
    assert.deepEqual({ ...rotation(k1.id), reason: undefined }, { allowed: false, code: 'CONFLICT', reason: undefined, keyId: k2.id, until: null });
    const inGrace = rotation(k2.id);
    assert.deepEqual([inGrace.allowed, inGrace.code, inGrace.keyId], [false, 'ROTATION_IN_PROGRESS', k1.id]);
    assert.equal(inGrace.until, listed.find((k) => k.id === k1.id)!.expiresAt, 'when the earlier key’s grace ends');
    // What the list says is what the rotation answers.
    expectProblem(await c.call('POST', `/portal/v1/keys/${k2.id}/rotate`, { gracePeriodSeconds: 3600 }), 409, 'ROTATION_IN_PROGRESS');
    expectProblem(await c.call('POST', `/portal/v1/keys/${k1.id}/rotate`, { gracePeriodSeconds: 3600 }), 409, 'CONFLICT');
  });
});
