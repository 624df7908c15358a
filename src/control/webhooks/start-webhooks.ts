import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../../config/load.ts';
import { newId } from '../../domain/ids.ts';
import { destinationCheck } from '../../domain/network-address.ts';
import { createSecretBox } from '../../domain/secret-box.ts';
import { signingSecrets, signWebhook, webhookBody, webhookUrlFingerprinter } from '../../domain/webhooks.ts';
import type { Store } from '../../store/port.ts';
import type { HealthReporter } from '../../telemetry/health.ts';
import { memoryThrottles } from '../../limits/failure-throttle.ts';
import { ControlError, TEST_SENDS_PER_MINUTE, type ControlContext, type WebhooksContext } from '../context.ts';
import { WebhookDispatcher } from './delivery.ts';
import { EventScans } from './event-scans.ts';
import { ForbiddenDestinationError, resolveDestination, systemResolve, type Resolve } from './destination.ts';
import { EndpointSenders, WebhookSender } from './sender.ts';
import { secretAad } from './views.ts';

export interface RunningWebhooks {
  context: WebhooksContext;
  dispatcher: WebhookDispatcher;
}

/** Webhooks from the configuration: null without a master key (secrets are sealed under it) or when disabled. */
export function webhooksFor(
  config: Readonly<Config>,
  deps: { store: Store; health: HealthReporter; log: Logger; clock: () => number; resolve?: Resolve | undefined },
): RunningWebhooks | null {
  const w = config.webhooks;
  if (!w.enabled || !config.masterKey) return null;
  const box = createSecretBox(config.masterKey, 'webhook-secret');
  const fingerprintUrl = webhookUrlFingerprinter(config.masterKey);
  const resolve = deps.resolve ?? systemResolve;
  const sending = { ca: w.caFile ? readFileSync(w.caFile, 'utf8') : undefined, timeoutMs: w.timeoutSeconds * 1000, resolve };
  // The addresses the operator allowed are for the operator's endpoints only (EndpointSenders says why).
  const checks = {
    operator: destinationCheck({ allowPrivateNetworks: w.allowPrivateNetworks, allowedNetworks: w.allowedNetworks }),
    developer: destinationCheck({ allowPrivateNetworks: w.allowPrivateNetworks, allowedNetworks: w.developerAllowedNetworks }),
  };
  const senders = new EndpointSenders(new WebhookSender({ ...sending, check: checks.operator }), new WebhookSender({ ...sending, check: checks.developer }));
  const dispatcher = new WebhookDispatcher({
    store: deps.store,
    box,
    fingerprintUrl,
    senders,
    health: deps.health,
    log: deps.log,
    clock: deps.clock,
    intervalMs: w.pollIntervalMs,
    schedule: { delaysMs: w.retrySeconds.map((s) => s * 1000), jitter: w.jitter },
    disableAfterFailures: w.disableAfterFailures,
    concurrency: w.concurrency,
    retentionMs: w.retentionDays * 86_400_000,
    // A round sends up to BATCH deliveries `concurrency` at a time, each within the timeout; a margin on top.
    leaseMs: Math.ceil(100 / w.concurrency) * w.timeoutSeconds * 1000 + 60_000,
  });
  const context: WebhooksContext = {
    box,
    fingerprintUrl,
    secretOverlapMs: w.secretOverlapSeconds * 1000,
    wake: () => dispatcher.wake(),
    // Per node: enough to stop a loop of sends to someone else's server; slots are endpoints, so few.
    testSends: memoryThrottles()({ name: 'webhook-test', limit: TEST_SENDS_PER_MINUTE, windowMs: 60_000 }),
    async checkUrl(text, endpoint) {
      const url = new URL(text);
      if (url.protocol !== 'https:' && !(w.allowHttp && url.protocol === 'http:'))
        throw new ControlError('VALIDATION_FAILED', 'webhook URLs must be https', { url: 'https only (webhooks.allowHttp allows http, for development)' });
      if (url.username || url.password) throw new ControlError('VALIDATION_FAILED', 'the URL holds credentials', { url: 'no user or password in the URL' });
      try {
        await resolveDestination(url.hostname, endpoint.appId ? checks.developer : checks.operator, resolve);
      } catch (error) {
        if (error instanceof ForbiddenDestinationError) throw new ControlError('VALIDATION_FAILED', 'the URL may not receive webhooks', { url: error.message });
        const code = (error as { code?: unknown }).code;
        if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA')
          throw new ControlError('VALIDATION_FAILED', 'the URL’s host does not resolve', { url: `${url.hostname}: ${String(code)}` });
        throw error;
      }
    },
    async ping(endpoint) {
      const now = deps.clock();
      const eventId = newId('event', now);
      const body = webhookBody({ type: 'webhook.test', at: now, data: { endpointId: endpoint.id } });
      const timestamp = Math.floor(now / 1000);
      const secrets = signingSecrets(endpoint.secrets, now).map((s) => box.open(s.sealed, secretAad(endpoint.id, s.id)));
      const headers = { 'webhook-id': eventId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secrets, eventId, timestamp, body) };
      return { eventId, ...(await senders.for(endpoint).send(endpoint.url, headers, body)) };
    },
  };
  return { context, dispatcher };
}

/** The scans for events no change causes, as configured (webhooks.scans). */
export function eventScansFor(config: Readonly<Config>, ctx: ControlContext, health: HealthReporter): EventScans {
  const s = config.webhooks.scans;
  return new EventScans({
    ctx,
    health,
    intervalMs: s.intervalSeconds * 1000,
    expiringLeadsMs: s.keyExpiringLeadSeconds.map((l) => l * 1000),
    quotaPercents: s.quotaThresholdPercents,
    rateLimitMinutes: s.rateLimitSustainedMinutes,
    loginFailures: s.loginFailures,
    loginWindowMs: s.loginWindowSeconds * 1000,
  });
}
