import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli.ts';
import { call, expectProblem, seed, startHarness, type Harness, type Seeded } from './support/harness.ts';

const DAY = 86_400_000;

describe('rotation hygiene: keys due for rotation, announced ahead, expired after a grace; old keys retired when drained', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => {
    h = await startHarness();
    ids = await seed(h);
  });
  after(() => h.close());

  const cli = (args: string[]) => runCli(args, { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey });
  const getKey = async (id: string) => (await h.admin('GET', `/keys/${id}`)).body;
  const dueIds = async () => (await h.admin('GET', `/keys?rotationDue=true&appId=${ids.appId}&limit=100`)).body.items.map((k: { id: string }) => k.id);
  const rotationEvents = async (keyId: string) =>
    (await h.gh.ctx.store.events.after(0, 1000)).filter((e) => e.type === 'key.rotation_due' && (e.data.key as { id: string }).id === keyId);

  test('a policy with a period: due at the right moment, in the list filter, announced once ahead, expired after the grace', async () => {
    const policy = await h.admin('POST', '/policies', {
      name: 'rotate-monthly',
      access: [{ apiId: ids.apiId }],
      rotation: { periodDays: 30, noticeDays: 7, expireAfterGraceDays: 5 },
    });
    assert.equal(policy.status, 201, JSON.stringify(policy.body));
    assert.deepEqual(policy.body.rotation, { periodDays: 30, noticeDays: 7, expireAfterGraceDays: 5 });
    const created = (await h.admin('POST', '/keys', { appId: ids.appId, policyId: policy.body.id })).body;
    const start = h.clock.now;
    assert.equal(created.rotationDueAt, new Date(start + 30 * DAY).toISOString());
    assert.equal(created.rotationDue, false);
    // The seeded key has no rule: never due.
    assert.equal((await getKey(ids.keyId)).rotationDueAt, null);

    // 22 days: not yet announced.
    h.clock.advance(22 * DAY);
    assert.deepEqual((await h.gh.rotation.scan()).announced, []);
    // 23 days: the notice is due; running the scan again announces nothing more.
    h.clock.advance(DAY);
    assert.deepEqual((await h.gh.rotation.scan()).announced, [created.id]);
    assert.deepEqual((await h.gh.rotation.scan()).announced, []);
    const events = await rotationEvents(created.id);
    assert.equal(events.length, 1);
    assert.deepEqual(events[0]!.data.rotation, {
      dueAt: new Date(start + 30 * DAY).toISOString(),
      periodDays: 30,
      noticeDays: 7,
      expiresAt: new Date(start + 35 * DAY).toISOString(),
    });
    assert.equal(JSON.stringify(events[0]!.data).includes(created.secret), false, 'no secret in the event');
    assert.deepEqual(await dueIds(), [], 'announced, not due yet');

    // Due exactly at 30 days.
    h.clock.advance(7 * DAY - 1);
    assert.equal((await getKey(created.id)).rotationDue, false);
    h.clock.advance(1);
    assert.equal((await getKey(created.id)).rotationDue, true);
    assert.deepEqual(await dueIds(), [created.id]);
    const notDue = (await h.admin('GET', `/keys?rotationDue=false&appId=${ids.appId}&limit=100`)).body.items.map((k: { id: string }) => k.id);
    assert.ok(notDue.includes(ids.keyId) && !notDue.includes(created.id));
    assert.equal((await call(h, '/orders/x', { key: created.secret })).status, 200, 'a due key keeps working until its grace ends');

    // The grace ends 5 days after the due date: not a moment before.
    h.clock.advance(5 * DAY - 1);
    assert.deepEqual((await h.gh.rotation.scan()).expired, []);
    h.clock.advance(1);
    assert.deepEqual((await h.gh.rotation.scan()).expired, [created.id]);
    const expired = await getKey(created.id);
    assert.equal(expired.status, 'expired');
    assert.equal(expired.expiresAt, new Date(h.clock.now).toISOString());
    assert.equal(expired.rotationDue, false, 'an expired key is no longer in use: nothing to rotate');
    expectProblem(await call(h, '/orders/x', { key: created.secret }), 401, 'EXPIRED');
    const [entry] = (await h.admin('GET', `/audit?targetId=${created.id}&action=key.rotation_expired`)).body.items;
    assert.equal(entry.actor, 'system');
    assert.equal(entry.after.expiresAt, expired.expiresAt);
    assert.match(entry.after.reason, /not rotated: due at .* grace of 5 days ended/);
    assert.deepEqual((await h.gh.rotation.scan()).expired, [], 'expired once');
    assert.equal((await rotationEvents(created.id)).length, 1);
  });

  test("a key's own rule wins over its policy's; rotating a due key gives a successor due a period after the rotation", async () => {
    const key = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], rotation: { periodDays: 10 } })).body;
    assert.equal(key.rotationDueAt, new Date(h.clock.now + 10 * DAY).toISOString());
    const patched = await h.admin('PATCH', `/keys/${key.id}`, { rotation: { periodDays: 2, noticeDays: 1 } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    h.clock.advance(2 * DAY);
    assert.ok((await dueIds()).includes(key.id));
    const listed = (await h.admin('GET', `/keys?rotationDue=true&appId=${ids.appId}&limit=100`)).body.items.find((k: { id: string }) => k.id === key.id);
    assert.equal(listed.rotationDue, true);

    const rotated = await h.admin('POST', `/keys/${key.id}/rotate`, { gracePeriodSeconds: 60 });
    assert.equal(rotated.status, 201);
    assert.equal(rotated.body.rotationDueAt, new Date(h.clock.now + 2 * DAY).toISOString());
    assert.equal(rotated.body.rotationDue, false);
    assert.equal(rotated.body.previous.rotationDueAt, null, 'the old key is rotated: its successor carries the schedule');
    assert.ok(!(await dueIds()).includes(key.id));

    const invalid = await h.admin('PATCH', `/keys/${rotated.body.id}`, { rotation: { periodDays: 1, noticeDays: 3 } });
    expectProblem(invalid, 400, 'VALIDATION_FAILED');
  });

  test('retire when drained: the old key works while used, and is revoked once quiet for the quiet period', async () => {
    const old = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] })).body;
    const rotated = await h.admin('POST', `/keys/${old.id}/rotate`, { gracePeriodSeconds: 86_400, retire: 'when-drained', quietPeriodSeconds: 600 });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    const rotatedAt = h.clock.now;
    assert.deepEqual(rotated.body.previous.retireWhenDrained, { quietPeriodSeconds: 600, rotatedAt: new Date(rotatedAt).toISOString() });
    const successor = rotated.body;

    // Used right after the rotation, then again 300 s later (counts not flushed yet: the recorder's pending ones).
    assert.equal((await call(h, '/orders/x', { key: old.secret })).status, 200);
    h.clock.advance(300_000);
    assert.equal((await call(h, '/orders/x', { key: old.secret })).status, 200);
    // 550 s after that use: still inside the quiet period.
    h.clock.advance(550_000);
    assert.deepEqual((await h.gh.rotation.retireDrained()).retired, []);
    assert.equal((await getKey(old.id)).status, 'active');
    const shown = await cli(['keys', 'show', old.id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /retires by itself once unused for 600 s \(last used 9 min ago/);

    // 600 s after the last use: retired.
    h.clock.advance(50_000);
    const round = await h.gh.rotation.retireDrained();
    assert.deepEqual(round.retired, [old.id]);
    const retired = await getKey(old.id);
    assert.equal(retired.status, 'revoked');
    assert.equal(retired.revokedReason, 'drained');
    expectProblem(await call(h, '/orders/x', { key: old.secret }), 401, 'REVOKED');
    assert.equal((await call(h, '/orders/x', { key: successor.secret })).status, 200);
    const [entry] = (await h.admin('GET', `/audit?targetId=${old.id}&action=key.revoked`)).body.items;
    assert.equal(entry.actor, 'system');
    assert.equal(entry.after.revokedReason, 'drained');
    assert.deepEqual((await h.gh.rotation.retireDrained()).retired, [], 'retired once');
  });

  test('retire when drained: a key no one uses after the rotation retires a quiet period after it; uses flushed to the store count too', async () => {
    const old = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] })).body;
    assert.equal((await call(h, '/orders/x', { key: old.secret })).status, 200);
    await h.gh.ctx.usage.flush();
    h.clock.advance(1000);
    const rotated = await h.admin('POST', `/keys/${old.id}/rotate`, { gracePeriodSeconds: 3600, retire: 'when-drained', quietPeriodSeconds: 120 });
    assert.equal(rotated.status, 201);
    h.clock.advance(119_999);
    assert.deepEqual((await h.gh.rotation.retireDrained()).retired, []);
    h.clock.advance(1);
    assert.deepEqual((await h.gh.rotation.retireDrained()).retired, [old.id]);

    // Used once, flushed: the flushed lastUsedAt holds it back as the pending count did.
    const other = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] })).body;
    await h.admin('POST', `/keys/${other.id}/rotate`, { gracePeriodSeconds: 3600, retire: 'when-drained', quietPeriodSeconds: 120 });
    h.clock.advance(100_000);
    assert.equal((await call(h, '/orders/x', { key: other.secret })).status, 200);
    await h.gh.ctx.usage.flush();
    h.clock.advance(100_000);
    assert.deepEqual((await h.gh.rotation.retireDrained()).retired, []);
    h.clock.advance(20_000);
    assert.deepEqual((await h.gh.rotation.retireDrained()).retired, [other.id]);
  });

  test('retire when drained is refused with a quiet period not shorter than the grace, or a quiet period alone', async () => {
    const key = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] })).body;
    expectProblem(
      await h.admin('POST', `/keys/${key.id}/rotate`, { gracePeriodSeconds: 600, retire: 'when-drained', quietPeriodSeconds: 600 }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(await h.admin('POST', `/keys/${key.id}/rotate`, { quietPeriodSeconds: 60 }), 400, 'VALIDATION_FAILED');
    assert.equal((await getKey(key.id)).replacedBy, null, 'nothing rotated');
  });

  test('the CLI lists keys due for rotation and rotates with --retire-when-drained --quiet-period', async () => {
    const key = (await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], rotation: { periodDays: 1, noticeDays: 0 } })).body;
    h.clock.advance(DAY);
    const listed = await cli(['keys', 'list', '--rotation-due', '--app', ids.appId, '--limit', '100']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout.split('\n')[0]!, /ROTATIONDUEAT/);
    assert.ok(listed.stdout.includes(key.id));
    assert.ok(!listed.stdout.includes(ids.keyId));
    const shown = await cli(['keys', 'show', key.id]);
    assert.match(shown.stdout, new RegExp(`rotation due since .*gatehouse keys rotate ${key.id} --retire-when-drained`));

    const rotated = await cli(['keys', 'rotate', key.id, '--retire-when-drained', '--quiet-period', '10m', '--grace', '1d']);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /works until no request has used it for 600 s \(then it is revoked, reason "drained"\)/);
    const old = await getKey(key.id);
    assert.equal(old.retireWhenDrained.quietPeriodSeconds, 600);
    assert.equal(old.expiresAt, new Date(h.clock.now + DAY).toISOString());
    const wrong = await cli(['keys', 'rotate', key.id, '--quiet-period', '10m']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /--quiet-period goes with --retire-when-drained/);
  });
});

describe('the rotation scan reads a bounded part of the keys per run and resumes where it stopped', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => {
    h = await startHarness({ GATEHOUSE_ROTATION_KEYS_PER_SCAN: '100' });
    ids = await seed(h);
  });
  after(() => h.close());

  test('150 keys due for notice: 100 announced by the first run, the rest by the second, none by the third; both tasks report to readiness', async () => {
    // The run at start has read the one seeded key and wrapped; this one waits for it if it has not.
    assert.equal((await h.gh.rotation.scan()).wrapped, true);
    const policy = (await h.admin('POST', '/policies', { name: 'daily', access: [{ apiId: ids.apiId }], rotation: { periodDays: 1, noticeDays: 1 } })).body;
    const keys: string[] = [];
    for (let i = 0; i < 150; i++) keys.push((await h.admin('POST', '/keys', { appId: ids.appId, policyId: policy.id })).body.id);
    // The seeded key (first by id) has no rule: read, not announced.
    const first = await h.gh.rotation.scan();
    assert.equal(first.wrapped, false);
    assert.deepEqual(first.announced, keys.slice(0, 99));
    const second = await h.gh.rotation.scan();
    assert.equal(second.wrapped, true);
    assert.deepEqual(second.announced, keys.slice(99));
    assert.deepEqual((await h.gh.rotation.scan()).announced, []);
    const events = (await h.gh.ctx.store.events.after(0, 1000)).filter((e) => e.type === 'key.rotation_due');
    assert.equal(events.length, 150);

    const { components } = h.gh.health.report();
    assert.equal(components['key-rotation-scan']?.ok, true);
    assert.equal(components['key-rotation-scan']?.critical, false);
    assert.equal(components['key-drain-retirement']?.critical, false);
  });
});
