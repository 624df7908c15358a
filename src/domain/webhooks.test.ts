import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret, nextAttempt, signingSecrets, signWebhook, verifyWebhookSignature, webhookBody } from './webhooks.ts';

test('signatures match the standardwebhooks package’s, and each of several secrets verifies the list', () => {
  const [a, b] = [generateWebhookSecret(), generateWebhookSecret()];
  assert.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(Buffer.from(a.slice(6), 'base64').length, 32, '24 to 64 random bytes (Standard Webhooks); 32 here');
  const body = webhookBody({ type: 'key.created', at: Date.UTC(2026, 0, 2, 3, 4, 5), data: { key: { id: 'key_1' } } });
  assert.equal(body, '{"type":"key.created","timestamp":"2026-01-02T03:04:05.000Z","data":{"key":{"id":"key_1"}}}');
  const at = new Date();
  const seconds = Math.floor(at.getTime() / 1000);
  assert.equal(signWebhook([a], 'evt_1', seconds, body), new Webhook(a).sign('evt_1', at, body));
  const both = signWebhook([a, b], 'evt_1', seconds, body);
  const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(seconds), 'webhook-signature': both };
  for (const secret of [a, b]) assert.doesNotThrow(() => new Webhook(secret).verify(body, headers));
  assert.throws(() => new Webhook(generateWebhookSecret()).verify(body, headers));
  assert.equal(verifyWebhookSignature(b, 'evt_1', seconds, body, both), true);
  assert.equal(verifyWebhookSignature(b, 'evt_1', seconds, `${body} `, both), false, 'the body is signed');
  assert.equal(verifyWebhookSignature(b, 'evt_2', seconds, body, both), false, 'and the id');
  assert.equal(verifyWebhookSignature(b, 'evt_1', seconds + 1, body, both), false, 'and the timestamp');
});

test('retries follow the schedule, less a random share of each delay, and stop when it is used up', () => {
  const schedule = { delaysMs: [5000, 300_000], jitter: 1 };
  assert.equal(
    nextAttempt(1, 0, schedule, () => 0),
    5000,
    'no randomness drawn: the whole delay',
  );
  assert.ok(nextAttempt(1, 0, schedule, () => 0.999)! <= 6, 'full jitter: down to almost nothing');
  assert.equal(
    nextAttempt(2, 1000, { ...schedule, jitter: 0.5 }, () => 1),
    1000 + 150_000,
  );
  assert.equal(nextAttempt(3, 0, schedule), null, 'after the last retry, none');
  for (let i = 0; i < 100; i++) {
    const at = nextAttempt(2, 0, schedule)!;
    assert.ok(at > 0 && at <= 300_000);
  }
});

test('the secrets that sign: the current one and those still inside their overlap', () => {
  const secrets = [
    { id: 'new', expiresAt: null },
    { id: 'old', expiresAt: 2000 },
    { id: 'older', expiresAt: 1000 },
  ];
  assert.deepEqual(
    signingSecrets(secrets, 1000).map((s) => s.id),
    ['new', 'old'],
  );
  assert.deepEqual(
    signingSecrets(secrets, 2000).map((s) => s.id),
    ['new'],
  );
});
