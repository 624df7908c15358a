import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import {
  generateWebhookSecret,
  nextAttempt,
  recordedWebhookUrl,
  signingSecrets,
  signWebhook,
  verifyWebhookSignature,
  webhookBody,
  webhookUrlFingerprinter,
  withoutUrlPassword,
} from './webhooks.ts';

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

test('webhook URLs in records: origin and a keyed fingerprint, never path, query or user information', () => {
  const fingerprint = webhookUrlFingerprinter(Buffer.alloc(32, 7));
  const other = webhookUrlFingerprinter(Buffer.alloc(32, 8));
  const url = 'https://hooks.example:8443/services/T0/B0/XXXXsecret?token=abc';
  const recorded = recordedWebhookUrl(url, fingerprint);
  assert.equal(recorded.origin, 'https://hooks.example:8443');
  assert.match(recorded.fingerprint, /^hmac-sha256:[A-Za-z0-9_-]{22}$/);
  assert.equal(recordedWebhookUrl(url, fingerprint).fingerprint, recorded.fingerprint, 'stable');
  assert.notEqual(recordedWebhookUrl(`${url}d`, fingerprint).fingerprint, recorded.fingerprint, 'a changed credential changes it');
  assert.notEqual(other(url), recorded.fingerprint, 'keyed: another master key, another fingerprint');
  assert.equal(recordedWebhookUrl('https://user:pass@hooks.example/x', fingerprint).origin, 'https://hooks.example');
  assert.ok(!JSON.stringify(recorded).includes('XXXXsecret') && !JSON.stringify(recorded).includes('abc'));
});

test("an API's view of a webhook URL never shows a password in it", () => {
  assert.equal(withoutUrlPassword('https://user:hunter2@hooks.example/x?y=1'), 'https://user:redacted@hooks.example/x?y=1');
  assert.equal(withoutUrlPassword('https://hooks.example/x?y=1'), 'https://hooks.example/x?y=1');
  assert.equal(withoutUrlPassword('https://hooks.example/x?to=a@b'), 'https://hooks.example/x?to=a@b', 'an @ elsewhere is kept as it was');
});
