import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblem, startSeeded, type Harness, type Seeded } from './support/harness.ts';

const DAY = 86_400_000;

describe('admin API: the key list finds keys expiring soon, and the keys of a policy', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => {
    ({ h, ids } = await startSeeded());
  });
  after(() => h.close());

  const newKey = async (body: Record<string, unknown>) => {
    const res = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], ...body });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id as string;
  };
  const listed = async (q: string) => {
    const res = await h.admin('GET', `/keys?appId=${ids.appId}&limit=100&${q}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.items.map((k: { id: string }) => k.id);
  };
  const inDays = (days: number) => encodeURIComponent(new Date(h.clock.now + days * DAY).toISOString());

  test('expiresBefore lists keys still in force whose expiry falls between now and that time', async () => {
    const threeDays = await newKey({ name: 'three-days', expiresInSeconds: 3 * 86_400 });
    const twentyDays = await newKey({ name: 'twenty-days', expiresInSeconds: 20 * 86_400 });
    await newKey({ name: 'sixty-days', expiresInSeconds: 60 * 86_400 });
    const revoked = await newKey({ name: 'revoked-soon', expiresInSeconds: 2 * 86_400 });
    assert.equal((await h.admin('POST', `/keys/${revoked}/revoke`, { reason: 'test' })).status, 200);

    assert.deepEqual(await listed(`expiresBefore=${inDays(7)}`), [threeDays]);
    assert.deepEqual(await listed(`expiresBefore=${inDays(30)}`), [threeDays, twentyDays]);
    // Any offset names the same instant.
    const paris = new Date(h.clock.now + 7 * DAY + 3_600_000).toISOString().replace('Z', '+01:00');
    assert.deepEqual(await listed(`expiresBefore=${encodeURIComponent(paris)}`), [threeDays]);

    // Four days on, the first has expired: it is `expired`, no longer expiring.
    h.clock.advance(4 * DAY);
    assert.deepEqual(await listed(`expiresBefore=${inDays(30)}`), [twentyDays]);
    assert.ok((await listed('status=expired')).includes(threeDays));
  });

  test('an expiresBefore that is not an RFC 3339 time is 400 naming the parameter', async () => {
    for (const bad of ['tomorrow', '2026-12-01', '2026-12-01T00:00:00']) {
      const res = await h.admin('GET', `/keys?expiresBefore=${encodeURIComponent(bad)}`);
      expectProblem(res, 400, 'VALIDATION_FAILED');
      assert.deepEqual(
        res.body.errors.map((e: { field: string }) => e.field),
        ['query.expiresBefore'],
        bad,
      );
    }
  });

  test('policyId lists every key of the policy, revoked ones too: the keys that keep it from being deleted', async () => {
    const policy = (await h.admin('POST', '/policies', { name: 'partners', rateLimits: [{ name: 'rps', limit: 10, windowSeconds: 1 }] })).body;
    const active = await newKey({ policyId: policy.id });
    const revoked = await newKey({ policyId: policy.id });
    assert.equal((await h.admin('POST', `/keys/${revoked}/revoke`, { reason: 'test' })).status, 200);
    assert.deepEqual(await listed(`policyId=${policy.id}`), [active, revoked]);
    expectProblem(await h.admin('DELETE', `/policies/${policy.id}`), 409, 'CONFLICT');

    for (const id of [active, revoked]) assert.equal((await h.admin('DELETE', `/keys/${id}`)).status, 204);
    assert.deepEqual(await listed(`policyId=${policy.id}`), []);
    assert.equal((await h.admin('DELETE', `/policies/${policy.id}`)).status, 204);
    expectProblem(await h.admin('GET', '/keys?policyId=partners'), 400, 'VALIDATION_FAILED');
  });

  test('the OpenAPI document describes both parameters', async () => {
    const doc = (await (await fetch(`${h.gh.controlUrl}/admin/v1/openapi.json`)).json()) as any;
    const parameters = new Map(doc.paths['/keys'].get.parameters.map((p: { name: string }) => [p.name, p]));
    const expiresBefore = parameters.get('expiresBefore') as any;
    assert.equal(expiresBefore.in, 'query');
    assert.equal(expiresBefore.schema.format, 'date-time');
    assert.match(expiresBefore.description, /expir/);
    assert.match((parameters.get('policyId') as any).description, /policy/);
  });
});
