import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Resolve } from '../src/control/webhooks/destination.ts';
import { expectProblem, seed, startHarness, TestClock, type Harness, type Seeded } from './support/harness.ts';
import { runCli } from './support/cli.ts';
import { TEST_MASTER_KEY } from './support/oauth.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

/**
 * Webhooks end to end: a real Gatehouse, a real HTTPS receiver on loopback (allowed by config) that
 * verifies every request with the `standardwebhooks` package. Delivery rounds are run with
 * `deliverNow()` and retry times reached by moving the clock (which follows the wall clock, so the
 * receiver's timestamp check holds), never by waiting.
 */
async function startWebhooks(receiver: WebhookReceiver, extra = '', resolve?: Resolve): Promise<Harness> {
  const yaml = `webhooks:
  allowedNetworks: ['127.0.0.1/32']
  caFile: ${receiver.caFile}
  pollIntervalMs: 600000
  retrySeconds: [1, 4, 16]
  jitter: 0.5
  disableAfterFailures: 5
${extra}`;
  return startHarness({ GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY }, TestClock.wall(), yaml, resolve ? { webhookResolve: resolve } : {});
}

async function addEndpoint(h: Harness, receiver: WebhookReceiver, events: string[] = ['key.created', 'key.rotated', 'key.revoked']) {
  const res = await h.admin('POST', '/webhooks', { url: receiver.url, events, description: 'test receiver' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.match(res.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  receiver.secrets = [res.body.secret];
  return res.body as { id: string; secret: string };
}

describe('webhook delivery', () => {
  let receiver: WebhookReceiver;
  let h: Harness;
  let ids: Seeded;
  /** A new key on the seeded app and API: its id and secret. */
  const newKey = async () => {
    const res = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { keyId: res.body.id as string, secret: res.body.secret as string };
  };
  before(async () => {
    receiver = await WebhookReceiver.start();
    h = await startWebhooks(receiver);
    ids = await seed(h);
  });
  after(async () => {
    await h.close();
    await receiver.stop();
  });

  test('a key created is announced as key.created, signed as Standard Webhooks specifies, and logged as delivered', async () => {
    const endpoint = await addEndpoint(h, receiver);
    const { keyId, secret } = await newKey();
    await h.gh.webhooks!.deliverNow();
    const [got] = receiver.of('key.created');
    assert.ok(got, 'key.created arrived');
    assert.deepEqual(got.verifiedWith, [true], 'standardwebhooks verifies it with the endpoint secret');
    assert.equal(got.payload.data.key.id, keyId);
    assert.ok(!got.body.includes(secret), 'the key secret is never in a payload');
    assert.ok(!JSON.stringify(got.payload).includes('hash'), 'nor its hash');
    assert.match(got.id, /^evt_/);
    const log = await h.admin('GET', `/webhooks/${endpoint.id}/deliveries`);
    const delivery = log.body.items.find((d: any) => d.eventId === got.id);
    assert.deepEqual([delivery.status, delivery.attempts, delivery.eventType], ['delivered', 1, 'key.created']);
    const detail = await h.admin('GET', `/webhooks/${endpoint.id}/deliveries/${delivery.id}`);
    assert.equal(detail.body.attemptLog.length, 1);
    assert.equal(detail.body.attemptLog[0].statusCode, 204);
    assert.equal(detail.body.payload.data.key.id, keyId);
    const shown = await h.admin('GET', `/webhooks/${endpoint.id}`);
    assert.ok(!JSON.stringify(shown.body).includes(endpoint.secret), 'the secret is shown once');

    const ping = await h.admin('POST', `/webhooks/${endpoint.id}/test`);
    assert.equal(ping.body.delivered, true, JSON.stringify(ping.body));
    assert.deepEqual(receiver.of('webhook.test').at(-1)!.verifiedWith, [true]);
    await h.admin('DELETE', `/webhooks/${endpoint.id}`);
  });

  test('a receiver that is down gets retries at growing delays, then the event with the same webhook-id; a run of failures disables the endpoint', async () => {
    const endpoint = await addEndpoint(h, receiver, ['key.revoked']);
    const { keyId } = await newKey();
    await receiver.stop();
    assert.equal((await h.admin('POST', `/keys/${keyId}/revoke`, { reason: 'test' })).status, 200);
    const deliveryOf = async () => (await h.admin('GET', `/webhooks/${endpoint.id}/deliveries`)).body.items[0];
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      await h.gh.webhooks!.deliverNow();
      const d = await deliveryOf();
      assert.deepEqual([d.status, d.attempts], [attempt === 3 ? 'pending' : 'pending', attempt]);
      delays.push(Date.parse(d.nextAttemptAt) - Date.parse(d.lastAttemptAt));
      h.clock.advance(Date.parse(d.nextAttemptAt) - h.clock.read() + 1);
    }
    // Schedule 1 s, 4 s, 16 s with half of each random: [0.5, 1], [2, 4], [8, 16] seconds, reckoned from
    // the attempt's end, while lastAttemptAt is its start: the upper bounds allow the attempt's own time.
    const took = 250;
    assert.ok(delays[0]! <= 1000 + took && delays[0]! >= 500 && delays[1]! >= 2000 && delays[1]! <= 4000 + took && delays[2]! >= 8000, String(delays));
    assert.ok(delays[0]! < delays[1]! && delays[1]! < delays[2]!, 'each retry waits longer');
    const detail = await h.admin('GET', `/webhooks/${endpoint.id}/deliveries/${(await deliveryOf()).id}`);
    assert.equal(detail.body.attemptLog.length, 3);
    assert.ok(
      detail.body.attemptLog.every((a: any) => a.statusCode === null && /ECONNREFUSED/.test(a.error)),
      JSON.stringify(detail.body.attemptLog),
    );
    assert.equal((await h.admin('GET', `/webhooks/${endpoint.id}`)).body.consecutiveFailures, 3);

    await receiver.listen();
    await h.gh.webhooks!.deliverNow();
    const [got] = receiver.of('key.revoked');
    assert.ok(got, 'delivered once the receiver is back');
    assert.equal(got.id, detail.body.eventId, 'the same webhook-id as every attempt');
    assert.deepEqual(got.verifiedWith, [true]);
    assert.deepEqual([(await deliveryOf()).status, (await deliveryOf()).attempts], ['delivered', 4]);
    assert.equal((await h.admin('GET', `/webhooks/${endpoint.id}`)).body.consecutiveFailures, 0, 'a delivery ends the run');

    // Five failures in a row (disableAfterFailures): disabled, audited, reported to health.
    receiver.status = 500;
    for (let i = 0; i < 3; i++) await newKey().then(({ keyId: k }) => h.admin('POST', `/keys/${k}/revoke`, { reason: 'test' }));
    await h.gh.webhooks!.deliverNow();
    h.clock.advance(1001);
    await h.gh.webhooks!.deliverNow();
    const disabled = (await h.admin('GET', `/webhooks/${endpoint.id}`)).body;
    assert.equal(disabled.enabled, false);
    assert.match(disabled.disabledReason, /5 failed delivery attempts in a row \(last: 500\)/);
    const audit = await h.admin('GET', `/audit?targetId=${endpoint.id}&action=webhook.disabled`);
    assert.equal(audit.body.items[0].actor, 'system');
    const health = h.gh.health.report().components['webhook-endpoints']!;
    assert.deepEqual([health.ok, health.critical], [false, false]);
    assert.match(health.lastError!, new RegExp(endpoint.id));
    const failedAttempt = (await h.admin('GET', `/webhooks/${endpoint.id}/deliveries/${(await deliveryOf()).id}`)).body.attemptLog[0];
    assert.equal(failedAttempt.responseExcerpt, 'status 500', 'the start of the answer is logged');

    receiver.status = 204;
    const before = receiver.received.length;
    h.clock.advance(20_000);
    await h.gh.webhooks!.deliverNow();
    assert.equal(receiver.received.length, before, 'nothing is sent to a disabled endpoint');
    const enabled = await h.admin('PATCH', `/webhooks/${endpoint.id}`, { enabled: true });
    assert.deepEqual([enabled.body.enabled, enabled.body.consecutiveFailures, enabled.body.disabledReason], [true, 0, null]);
    await h.gh.webhooks!.deliverNow();
    assert.ok(receiver.received.length > before, 'its pending deliveries resume');
    assert.equal(h.gh.health.report().components['webhook-endpoints']!.ok, true);
    await h.admin('DELETE', `/webhooks/${endpoint.id}`);
  });

  test('replay sends one delivery again, or every event of a time range, with their webhook-ids', async () => {
    const since = new Date(h.clock.read() - 1).toISOString();
    const { keyId } = await newKey();
    await h.admin('POST', `/keys/${keyId}/revoke`, { reason: 'replay' });
    // Added after the events: only a range replay can send them.
    const endpoint = await addEndpoint(h, receiver, ['key.created', 'key.revoked']);
    await h.gh.webhooks!.deliverNow();
    assert.equal((await h.admin('GET', `/webhooks/${endpoint.id}/deliveries`)).body.items.length, 0);
    const count = receiver.received.length;
    const range = await h.admin('POST', `/webhooks/${endpoint.id}/replay`, { since });
    assert.deepEqual(range.body, { endpointId: endpoint.id, replayed: 2 });
    await h.gh.webhooks!.deliverNow();
    const replayed = receiver.received.slice(count);
    assert.deepEqual(replayed.map((r) => r.payload.type).sort(), ['key.created', 'key.revoked']);
    assert.ok(replayed.every((r) => r.verifiedWith[0]));
    const one = (await h.admin('GET', `/webhooks/${endpoint.id}/deliveries?status=delivered`)).body.items[0];
    const again = await h.admin('POST', `/webhooks/${endpoint.id}/deliveries/${one.id}/replay`);
    assert.deepEqual([again.body.status, again.body.attempts], ['pending', 0]);
    await h.gh.webhooks!.deliverNow();
    assert.equal(receiver.received.at(-1)!.id, one.eventId);
    const audit = await h.admin('GET', `/audit?targetId=${endpoint.id}&action=webhook.replayed`);
    assert.equal(audit.body.items.length, 2);
    expectProblem(await h.admin('POST', `/webhooks/${endpoint.id}/deliveries/dlv_missing/replay`), 404, 'RESOURCE_NOT_FOUND');
    await h.admin('DELETE', `/webhooks/${endpoint.id}`);
  });

  test('a rotated secret signs beside the new one during the overlap, and not after', async () => {
    const endpoint = await addEndpoint(h, receiver, ['key.created']);
    const rotated = await h.admin('POST', `/webhooks/${endpoint.id}/rotate-secret`, { overlapSeconds: 60 });
    assert.equal(rotated.status, 201);
    assert.notEqual(rotated.body.secret, endpoint.secret);
    assert.equal(rotated.body.secrets.length, 2);
    receiver.secrets = [endpoint.secret, rotated.body.secret];
    await newKey();
    await h.gh.webhooks!.deliverNow();
    const during = receiver.of('key.created').at(-1)!;
    assert.deepEqual(during.verifiedWith, [true, true], 'both secrets verify during the overlap');
    assert.equal(during.signature.split(' ').length, 2);
    h.clock.advance(61_000);
    await newKey();
    await h.gh.webhooks!.deliverNow();
    const afterOverlap = receiver.of('key.created').at(-1)!;
    assert.notEqual(afterOverlap.id, during.id);
    assert.deepEqual(afterOverlap.verifiedWith, [false, true], 'only the new secret after it');
    h.clock.advance(-61_000);
    await h.admin('DELETE', `/webhooks/${endpoint.id}`);
  });

  test('the CLI manages endpoints: create (secret once), list, test, deliveries, replay, rotate-secret, disable, enable, delete', async () => {
    const env = { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey };
    const cli = async (...args: string[]) => {
      const run = await runCli(['webhooks', ...args, '--json'], env);
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout);
    };
    const created = await cli('create', '--url', receiver.url, '--events', 'key.created,key.revoked', '--description', 'from the CLI');
    assert.match(created.secret, /^whsec_/);
    receiver.secrets = [created.secret];
    assert.ok((await cli('list')).items.some((e: any) => e.id === created.id));
    assert.equal((await cli('test', created.id)).delivered, true);
    await newKey();
    await h.gh.webhooks!.deliverNow();
    const [delivery] = (await cli('deliveries', created.id)).items;
    assert.equal(delivery.eventType, 'key.created');
    assert.equal((await cli('deliveries', created.id, '--delivery', delivery.id)).attemptLog.length, 1);
    assert.equal((await cli('replay', created.id, '--delivery', delivery.id)).status, 'pending');
    assert.equal((await cli('replay', created.id, '--since', '1h')).replayed >= 1, true);
    const rotated = await cli('rotate-secret', created.id, '--overlap', '0');
    assert.deepEqual(rotated.secrets.length, 1, 'no overlap: the old secret is gone at once');
    assert.equal((await cli('disable', created.id, '--reason', 'maintenance')).disabledReason, 'maintenance');
    assert.equal((await cli('enable', created.id)).enabled, true);
    const text = await runCli(['webhooks', 'show', created.id], env);
    assert.ok(!text.stdout.includes(created.secret) && !text.stdout.includes(rotated.secret));
    await cli('delete', created.id);
    const bad = await runCli(['webhooks', 'create', '--url', receiver.url, '--events', 'key.nope'], env);
    assert.equal(bad.code, 1);
  });

  test('signing secrets are stored sealed: neither the secret nor its base64 is in the database file or its log', async () => {
    const endpoint = await addEndpoint(h, receiver, ['key.created']);
    const rotated = await h.admin('POST', `/webhooks/${endpoint.id}/rotate-secret`, {});
    const bytes = ['gatehouse.db', 'gatehouse.db-wal']
      .map((f) => join(h.dir, f))
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f).toString('latin1'))
      .join('\n');
    assert.ok(bytes.length > 0);
    for (const secret of [endpoint.secret, rotated.body.secret]) {
      assert.ok(!bytes.includes(secret.slice('whsec_'.length, 30)), 'no part of the secret in the file');
      assert.ok(!bytes.includes(Buffer.from(secret.slice('whsec_'.length), 'base64').toString('latin1')), 'nor its raw bytes');
    }
    await h.admin('DELETE', `/webhooks/${endpoint.id}`);
  });

  test('test sends are limited per endpoint: the sixth in a minute is 429 with Retry-After and sends nothing', async () => {
    const endpoint = await addEndpoint(h, receiver, ['key.revoked']);
    const before = receiver.of('webhook.test').length;
    for (let i = 0; i < 5; i++) assert.equal((await h.admin('POST', `/webhooks/${endpoint.id}/test`)).body.delivered, true);
    const refused = await h.admin('POST', `/webhooks/${endpoint.id}/test`);
    expectProblem(refused, 429, 'RATE_LIMITED');
    assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.equal(receiver.of('webhook.test').length, before + 5, 'the refused one was not sent');
    const other = await addEndpoint(h, receiver, ['key.revoked']);
    assert.equal((await h.admin('POST', `/webhooks/${other.id}/test`)).body.delivered, true, 'another endpoint has its own count');
    await h.admin('DELETE', `/webhooks/${endpoint.id}`);
    await h.admin('DELETE', `/webhooks/${other.id}`);
  });

  test('bad input is problem+json: an unknown event type, an empty list', async () => {
    const res = await h.admin('POST', '/webhooks', { url: receiver.url, events: ['key.created', 'key.stolen'] });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expectProblem(await h.admin('POST', '/webhooks', { url: receiver.url, events: [] }), 400, 'VALIDATION_FAILED');
    expectProblem(await h.admin('GET', '/webhooks/whk_missing'), 404, 'RESOURCE_NOT_FOUND');
  });
});

describe('webhook destinations (SSRF)', () => {
  let receiver: WebhookReceiver;
  let h: Harness;
  /** evil.example resolves to a public address first, then to loopback (DNS rebinding); inner.example to loopback. */
  let evilAnswers = ['93.184.215.14'];
  const resolve: Resolve = async (name) => {
    if (name === 'evil.example') return [{ address: evilAnswers.shift() ?? '127.0.0.1', family: 4 }];
    if (name === 'inner.example') return [{ address: '127.0.0.1', family: 4 }];
    if (name === 'mixed.example')
      return [
        { address: '93.184.215.14', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };
  before(async () => {
    receiver = await WebhookReceiver.start();
    // No allowance for loopback here: the default rules.
    h = await startHarness({ GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY }, TestClock.wall(), `webhooks:\n  caFile: ${receiver.caFile}\n  pollIntervalMs: 600000\n`, {
      webhookResolve: resolve,
    });
  });
  after(async () => {
    await h.close();
    await receiver.stop();
  });

  test('loopback, private, link-local, CGNAT, multicast, unspecified and IPv4-mapped addresses are refused at create', async () => {
    for (const url of [
      receiver.url,
      'https://10.1.2.3/',
      'https://172.16.0.1/',
      'https://192.168.1.1/',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/',
      'https://224.0.0.1/',
      'https://0.0.0.0/',
      'https://[::1]/',
      'https://[fd00::1]/',
      'https://[fe80::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://[::ffff:a9fe:a9fe]/',
      'https://inner.example/',
      'https://mixed.example/',
    ]) {
      const res = await h.admin('POST', '/webhooks', { url, events: ['key.created'] });
      expectProblem(res, 400, 'VALIDATION_FAILED');
      assert.match(
        res.body.errors?.url ?? res.body.fields?.url ?? JSON.stringify(res.body),
        /loopback|private|link-local|CGNAT|multicast|unspecified|IPv4/,
        url,
      );
    }
    expectProblem(await h.admin('POST', '/webhooks', { url: 'http://93.184.215.14/', events: ['key.created'] }), 400, 'VALIDATION_FAILED');
    expectProblem(await h.admin('POST', '/webhooks', { url: 'https://user:pw@93.184.215.14/', events: ['key.created'] }), 400, 'VALIDATION_FAILED');
    expectProblem(await h.admin('POST', '/webhooks', { url: 'https://nowhere.example/', events: ['key.created'] }), 400, 'VALIDATION_FAILED');
  });

  test('a name that resolves to a public address at create and to loopback at connect is refused at connect (DNS rebinding)', async () => {
    const created = await h.admin('POST', '/webhooks', { url: `https://evil.example:${receiver.port}/hooks`, events: ['key.created'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const ping = await h.admin('POST', `/webhooks/${created.body.id}/test`);
    assert.equal(ping.body.delivered, false);
    assert.match(ping.body.error, /evil\.example resolves to 127\.0\.0\.1, a loopback address/);
    assert.equal(receiver.received.length, 0, 'the receiver on loopback was never reached');
    evilAnswers = [];
  });
});

test('without a master key, webhook routes answer 503 WEBHOOKS_DISABLED', async () => {
  const h = await startHarness();
  try {
    expectProblem(await h.admin('GET', '/webhooks'), 503, 'WEBHOOKS_DISABLED');
  } finally {
    await h.close();
  }
});
