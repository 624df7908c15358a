/**
 * Webhook delivery throughput: how fast the delivery task drains a backlog of outbox events to one
 * endpoint on loopback, and what one round costs the event loop (issue 11).
 *
 *   node bench/webhook-delivery.ts [--events 2000] [--concurrency 8] [--endpoints 1]
 *
 * A real SQLite file, the real dispatcher (fan-out, signing, the SSRF-checking connector, the attempt
 * log), and a plain-HTTP receiver on 127.0.0.1 (allowed by the destination check given) that answers 204.
 * Reported: the wall time to deliver every event to every endpoint, deliveries per second, and the
 * longest event-loop delay seen meanwhile (monitorEventLoopDelay).
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { WebhookDispatcher } from '../src/control/webhooks/delivery.ts';
import { systemResolve } from '../src/control/webhooks/destination.ts';
import { EndpointSenders, WebhookSender } from '../src/control/webhooks/sender.ts';
import { secretAad } from '../src/control/webhooks/views.ts';
import { newId } from '../src/domain/ids.ts';
import { destinationCheck } from '../src/domain/network-address.ts';
import { createSecretBox } from '../src/domain/secret-box.ts';
import { generateWebhookSecret, webhookUrlFingerprinter, type WebhookEndpoint } from '../src/domain/webhooks.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { Health } from '../src/telemetry/health.ts';

const { values: args } = parseArgs({
  options: { events: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '8' }, endpoints: { type: 'string', default: '1' } },
});
const EVENTS = Number(args.events);
const ENDPOINTS = Number(args.endpoints);

let received = 0;
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received++;
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-webhook-bench-'));
const store = openSqliteStore(join(dir, 'gatehouse.db'));
await store.migrate();
const masterKey = Buffer.from('bench-master-key-0123456789abcdefghijklmnop');
const box = createSecretBox(masterKey, 'webhook-secret');
const now = Date.now();
for (let i = 0; i < ENDPOINTS; i++) {
  const id = newId('webhook', now);
  const secretId = newId('webhookSecret', now);
  const endpoint: WebhookEndpoint = {
    id,
    url,
    events: ['key.created'],
    description: null,
    enabled: true,
    disabledReason: null,
    consecutiveFailures: 0,
    secrets: [{ id: secretId, sealed: box.seal(generateWebhookSecret(), secretAad(id, secretId)), createdAt: now, expiresAt: null }],
    createdAt: now - 1000,
    updatedAt: now,
  };
  await store.webhooks.create(endpoint, {
    actor: 'bench',
    action: 'webhook.created',
    targetType: 'webhook',
    targetId: id,
    before: null,
    after: null,
    requestId: null,
  });
}
for (let i = 0; i < EVENTS; i += 500) {
  await store.events.append(
    Array.from({ length: Math.min(500, EVENTS - i) }, (_, j) => ({
      type: 'key.created' as const,
      data: { key: { id: `key_${i + j}`, name: 'bench', appId: 'app_bench' } },
    })),
  );
}

const check = destinationCheck({ allowPrivateNetworks: false, allowedNetworks: ['127.0.0.1/32'] });
const dispatcher = new WebhookDispatcher({
  store,
  box,
  fingerprintUrl: webhookUrlFingerprinter(masterKey),
  // The bench's endpoints are the operator's: the developers' sender is never used.
  senders: new EndpointSenders(
    new WebhookSender({ timeoutMs: 10_000, check, resolve: systemResolve }),
    new WebhookSender({ timeoutMs: 10_000, check, resolve: systemResolve }),
  ),
  health: new Health(pino({ level: 'silent' }), Date.now),
  log: pino({ level: 'silent' }),
  clock: Date.now,
  intervalMs: 3_600_000,
  schedule: { delaysMs: [1000], jitter: 1 },
  disableAfterFailures: 1000,
  concurrency: Number(args.concurrency),
  retentionMs: 86_400_000,
  leaseMs: 60_000,
});

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const started = performance.now();
while (received < EVENTS * ENDPOINTS) await dispatcher.deliverNow();
const seconds = (performance.now() - started) / 1000;
delay.disable();
console.log(
  JSON.stringify({
    events: EVENTS,
    endpoints: ENDPOINTS,
    concurrency: Number(args.concurrency),
    deliveries: received,
    seconds: Number(seconds.toFixed(2)),
    deliveriesPerSecond: Math.round(received / seconds),
    eventLoopDelayMs: {
      p50: Number((delay.percentile(50) / 1e6).toFixed(2)),
      p99: Number((delay.percentile(99) / 1e6).toFixed(2)),
      max: Number((delay.max / 1e6).toFixed(2)),
    },
  }),
);
await dispatcher.stop();
await store.close();
receiver.close();
rmSync(dir, { recursive: true, force: true });
