import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { OutboxEvent } from '../src/domain/events.ts';
import { call, seed, startHarness, TestClock, type Harness, type Seeded } from './support/harness.ts';
import { authorizationUrl, Browser, REDIRECT, startAuthHarness, TEST_MASTER_KEY, type AuthHarness } from './support/oauth.ts';

/**
 * The producers of webhook events: each event is read back from the outbox (delivery and its
 * signatures are test/webhooks.test.ts's), with payloads of ids and views, never a secret.
 */
const SCANS = `webhooks:
  pollIntervalMs: 600000
  scans:
    intervalSeconds: 3600
    keyExpiringLeadSeconds: [3600, 60]
    quotaThresholdPercents: [50, 100]
    rateLimitSustainedMinutes: 2
    loginFailures: 3
    loginWindowSeconds: 600
`;

async function outbox(h: Harness, type: string): Promise<OutboxEvent[]> {
  return (await h.gh.ctx.store.events.after(0, 10_000)).filter((e) => e.type === type);
}

function noSecrets(events: OutboxEvent[], ...secrets: string[]): void {
  const text = JSON.stringify(events);
  for (const secret of secrets) assert.ok(!text.includes(secret), 'no secret in a payload');
  assert.ok(!/"hash"|secretHash|sealed/.test(text), 'no hash or sealed value either');
}

describe('key events: created, rotated, revoked, expiring, expired, quota thresholds, sustained rate limiting', () => {
  let h: Harness;
  let ids: Seeded;
  before(async () => {
    h = await startHarness({ GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY }, new TestClock(), SCANS);
    ids = await seed(h);
  });
  after(() => h.close());

  test('key.created, key.rotated and key.revoked are recorded with the change', async () => {
    const created = await outbox(h, 'key.created');
    assert.deepEqual(
      created.map((e) => (e.data.key as { id: string }).id),
      [ids.keyId],
    );
    const rotated = await h.admin('POST', `/keys/${ids.keyId}/rotate`, { gracePeriodSeconds: 60 });
    const [rotation] = await outbox(h, 'key.rotated');
    assert.deepEqual([(rotation!.data.previous as any).id, (rotation!.data.successor as any).id], [ids.keyId, rotated.body.id]);
    await h.admin('POST', `/keys/${rotated.body.id}/revoke`, { reason: 'leaked in a log' });
    const [revoked] = await outbox(h, 'key.revoked');
    assert.deepEqual([(revoked!.data.key as any).id, revoked!.data.reason], [rotated.body.id, 'leaked in a log']);
    noSecrets([...created, rotation!, revoked!], ids.secret, rotated.body.secret);
  });

  test('key.expiring once per lead time, then key.expired once, however often the scan runs', async () => {
    const key = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], expiresInSeconds: 7200 });
    const scan = () => h.gh.eventScans!.scanNow();
    const expiring = async () => (await outbox(h, 'key.expiring')).filter((e) => (e.data.key as any).id === key.body.id);
    await scan();
    assert.deepEqual(await expiring(), [], 'two hours ahead: no lead time reached yet');
    h.clock.advance(3600_000 + 1000);
    await scan();
    await scan();
    assert.deepEqual(
      (await expiring()).map((e) => e.data.leadSeconds),
      [3600],
    );
    h.clock.advance(3600_000 - 30_000);
    await scan();
    assert.deepEqual(
      (await expiring()).map((e) => e.data.leadSeconds),
      [3600, 60],
    );
    assert.deepEqual(await outbox(h, 'key.expired'), []);
    h.clock.advance(60_000);
    await scan();
    await scan();
    const expired = await outbox(h, 'key.expired');
    assert.deepEqual(
      expired.map((e) => (e.data.key as any).id),
      [key.body.id],
    );
    assert.equal(expired[0]!.data.expiredAt, key.body.expiresAt);
    noSecrets(expired, key.body.secret);
  });

  test('quota.threshold at each configured share of a key quota, once per period, after a usage flush', async () => {
    const key = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], quota: { limit: 4, period: 'day' } });
    const thresholds = async () => (await outbox(h, 'quota.threshold')).filter((e) => (e.data.key as any).id === key.body.id);
    const use = async (n: number) => {
      for (let i = 0; i < n; i++) assert.equal((await call(h, '/orders/x', { key: key.body.secret })).status, 200);
      await h.gh.ctx.usage.flush();
      await h.gh.eventScans!.quotaChecked();
    };
    await use(1);
    assert.deepEqual(await thresholds(), []);
    await use(1);
    assert.deepEqual(
      (await thresholds()).map((e) => [e.data.percent, e.data.used, e.data.limit]),
      [[50, 2, 4]],
    );
    await use(1);
    assert.equal((await thresholds()).length, 1, 'announced once per period');
    await use(1);
    assert.deepEqual(
      (await thresholds()).map((e) => e.data.percent),
      [50, 100],
    );
    noSecrets(await thresholds(), key.body.secret);
  });

  test('quota.threshold follows a quota changed after its first flush: a lowered limit is announced at the next', async () => {
    const key = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], quota: { limit: 100, period: 'day' } });
    const thresholds = async () => (await outbox(h, 'quota.threshold')).filter((e) => (e.data.key as any).id === key.body.id);
    const use = async () => {
      assert.equal((await call(h, '/orders/x', { key: key.body.secret })).status, 200);
      await h.gh.ctx.usage.flush();
      await h.gh.eventScans!.quotaChecked();
    };
    await use();
    assert.deepEqual(await thresholds(), [], '1 of 100');
    assert.equal((await h.admin('PATCH', `/keys/${key.body.id}`, { quota: { limit: 4, period: 'day' } })).status, 200);
    await use();
    assert.deepEqual(
      (await thresholds()).map((e) => [e.data.percent, e.data.used, e.data.limit]),
      [[50, 2, 4]],
    );
  });

  test('ratelimit.sustained when a key is refused RATE_LIMITED in consecutive minutes, once per run', async () => {
    const key = await h.admin('POST', '/keys', {
      appId: ids.appId,
      access: [{ apiId: ids.apiId }],
      rateLimits: [{ name: 'per-minute', limit: 1, windowSeconds: 60 }],
    });
    const sustained = async () => (await outbox(h, 'ratelimit.sustained')).filter((e) => (e.data.key as any).id === key.body.id);
    const minute = async () => {
      const statuses = [];
      for (let i = 0; i < 2; i++) statuses.push((await call(h, '/orders/x', { key: key.body.secret })).status);
      assert.deepEqual(statuses, [200, 429]);
      h.clock.advance(60_000);
    };
    h.clock.advance(60_000 - (h.clock.read() % 60_000));
    await minute();
    await h.gh.eventScans!.scanNow();
    assert.deepEqual(await sustained(), [], 'one minute is not sustained');
    await minute();
    await h.gh.eventScans!.scanNow();
    const [event] = await sustained();
    assert.ok(event, 'two minutes in a row are');
    assert.equal(event.data.minutes, 2);
    await minute();
    await h.gh.eventScans!.scanNow();
    assert.equal((await sustained()).length, 1, 'the same run is announced once');
    h.clock.advance(60_000);
    await minute();
    await minute();
    await h.gh.eventScans!.scanNow();
    assert.equal((await sustained()).length, 2, 'a new run after a quiet minute is announced again');
  });
});

describe('identity events: signing key rotated, client secret rotated, failed sign-in burst', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startAuthHarness({}, SCANS);
  });
  after(() => h.close());

  test('signing_key.rotated on a rotation (not for the first key), client.secret_rotated on a new client secret', async () => {
    assert.deepEqual(await outbox(h, 'signing_key.rotated'), [], 'the first key replaces nothing');
    const rotated = await h.admin('POST', '/signing-keys/rotate', { immediate: true });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    const [event] = await outbox(h, 'signing_key.rotated');
    assert.equal((event!.data.signingKey as any).id, rotated.body.id);
    assert.equal(event!.data.immediate, true);
    assert.equal((event!.data.retired as any[]).length, 1);

    const api = await h.api('reports', ['reports:read']);
    const client = await h.client({ name: 'Nightly', type: 'confidential', grantTypes: ['client_credentials'], scopes: ['reports:read'], apiIds: [api.id] });
    const secret = await h.admin('POST', `/clients/${client.id}/secret`);
    assert.equal(secret.status, 201, JSON.stringify(secret.body));
    const [rotation] = await outbox(h, 'client.secret_rotated');
    assert.equal((rotation!.data.client as any).id, client.id);
    noSecrets([event!, rotation!], client.secret!, secret.body.secret);
  });

  test('login.failed_burst when one user fails to sign in often within the window, once', async () => {
    const user = await h.user();
    const web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: [], firstParty: true });
    const fail = async () => {
      const browser = new Browser(h.issuer);
      const page = await browser.go((await authorizationUrl(h, web.id)).url);
      const result = await browser.submit(page as never, { username: user.username, password: 'not the password' }, '/login');
      assert.equal((result as { status: number }).status, 401);
    };
    for (let i = 0; i < 2; i++) await fail();
    await h.gh.eventScans!.scanNow();
    assert.deepEqual(await outbox(h, 'login.failed_burst'), [], 'two failures are not a burst');
    await fail();
    await h.gh.eventScans!.scanNow();
    await h.gh.eventScans!.scanNow();
    const bursts = await outbox(h, 'login.failed_burst');
    assert.deepEqual(
      bursts.map((e) => [(e.data.user as any).id, e.data.failures]),
      [[user.id, 3]],
    );
    noSecrets(bursts, 'not the password');
  });
});
