import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli.ts';
import { expectProblem, fetchFrom, startSeeded, type Harness, type Seeded } from './support/harness.ts';

describe('where a key is used from, and the drain view of a rotated key', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => ({ h, ids } = await startSeeded()));
  after(() => h.close());

  const cli = (args: string[]) => runCli(args, { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey });
  /** A request through the gateway from one loopback address: each plays another client. */
  const callFrom = async (address: string, secret: string) => {
    const res = await fetchFrom(address)(`${h.gh.gatewayUrl}/orders/items`, { headers: { authorization: `Bearer ${secret}` } });
    await res.arrayBuffer();
    return res.status;
  };
  const newKey = async () => (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] })).body;

  test('a rotated key shows who still uses it since the rotation, counts not yet flushed included, and when it has drained', async () => {
    const old = await newKey();
    const usedBefore = h.clock.now;
    assert.equal(await callFrom('127.0.0.1', old.secret), 200);
    h.clock.advance(1000);
    const rotatedAt = h.clock.now;
    const { body: successor } = await h.admin('POST', `/keys/${old.id}/rotate`, { gracePeriodSeconds: 3600 });

    const quiet = (await h.admin('GET', `/keys/${old.id}`)).body.drain;
    assert.deepEqual(quiet, {
      successorId: successor.id,
      rotatedAt: new Date(rotatedAt).toISOString(),
      graceEndsAt: new Date(rotatedAt + 3_600_000).toISOString(),
      addresses: 0,
      otherAddresses: false,
      lastUsedAt: new Date(usedBefore).toISOString(),
      secondsSinceLastUse: 1,
      quiet: true,
      retirable: true,
    });
    const safe = await cli(['keys', 'show', old.id]);
    assert.equal(safe.code, 0, safe.stderr);
    assert.match(safe.stdout, new RegExp(`no use since rotation: safe to retire \\(gatehouse keys revoke ${old.id} --reason drained\\)`));

    h.clock.advance(1000);
    const usedAfter = h.clock.now;
    assert.equal(await callFrom('127.0.0.1', old.secret), 200);
    assert.equal(await callFrom('127.0.0.2', old.secret), 200);
    assert.equal(await callFrom('127.0.0.2', successor.secret), 200, 'the successor’s uses are its own');
    h.clock.advance(40_000);
    // Nothing was flushed (the harness flushes hourly): the drain view flushes first.
    const draining = (await h.admin('GET', `/keys/${old.id}`)).body.drain;
    assert.equal(draining.addresses, 2);
    assert.equal(draining.quiet, false);
    assert.equal(draining.lastUsedAt, new Date(usedAfter).toISOString());
    assert.equal(draining.secondsSinceLastUse, 40);
    const still = await cli(['keys', 'show', old.id]);
    assert.match(still.stdout, /still used by 2 addresses, last 40 s ago/);
    assert.match(still.stdout, new RegExp(`gatehouse keys revoke ${old.id}`), 'the line says how to retire it early');

    assert.equal((await h.admin('GET', `/keys/${successor.id}`)).body.drain, null, 'a key that was not rotated has no drain');
    await h.admin('POST', `/keys/${old.id}/revoke`, { reason: 'drained' });
    assert.equal((await h.admin('GET', `/keys/${old.id}`)).body.drain, null, 'a retired key has none either');
  });

  test('the address list names each client address with first and last seen and requests, newest first, in pages', async () => {
    const key = await newKey();
    const first = h.clock.now;
    assert.equal(await callFrom('127.0.0.1', key.secret), 200);
    h.clock.advance(5000);
    assert.equal(await callFrom('127.0.0.2', key.secret), 200);
    h.clock.advance(5000);
    assert.equal(await callFrom('127.0.0.1', key.secret), 200);
    const page1 = await h.admin('GET', `/keys/${key.id}/addresses?limit=1`);
    assert.equal(page1.status, 200);
    assert.deepEqual(page1.body.items, [
      { address: '127.0.0.1', firstSeenAt: new Date(first).toISOString(), lastSeenAt: new Date(first + 10_000).toISOString(), requests: 2 },
    ]);
    assert.equal(page1.body.otherAddresses, null);
    const page2 = await h.admin('GET', `/keys/${key.id}/addresses?limit=1&cursor=${encodeURIComponent(page1.body.nextCursor)}`);
    assert.deepEqual(
      page2.body.items.map((a: { address: string; requests: number }) => [a.address, a.requests]),
      [['127.0.0.2', 1]],
    );
    assert.equal(page2.body.nextCursor, null);

    const listed = await cli(['keys', 'addresses', key.id]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^ADDRESS\s+FIRSTSEENAT\s+LASTSEENAT\s+REQUESTS\n127\.0\.0\.1 .* 2\n127\.0\.0\.2 .* 1$/m);

    expectProblem(await h.admin('GET', `/keys/${key.id}/addresses?cursor=not-a-cursor`), 400, 'VALIDATION_FAILED');
    expectProblem(await h.admin('GET', `/keys/key_${'0'.repeat(28)}/addresses`), 404, 'RESOURCE_NOT_FOUND');
    assert.equal((await h.admin('DELETE', `/keys/${key.id}`)).status, 204);
    expectProblem(await h.admin('GET', `/keys/${key.id}/addresses`), 404, 'RESOURCE_NOT_FOUND');
  });
});
