import type { Logger } from 'pino';
import type { OutboxEvent } from '../../domain/events.ts';
import { newId } from '../../domain/ids.ts';
import type { SecretBox } from '../../domain/secret-box.ts';
import {
  endpointTakes,
  isDelivered,
  nextAttempt,
  signingSecrets,
  signWebhook,
  webhookBody,
  type WebhookDelivery,
  type WebhookEndpoint,
} from '../../domain/webhooks.ts';
import type { Store } from '../../store/port.ts';
import type { HealthReporter } from '../../telemetry/health.ts';
import { PeriodicTask } from '../../telemetry/periodic-task.ts';
import type { EndpointSenders, SendResult } from './sender.ts';
import { endpointAuditView, secretAad } from './views.ts';

export const WEBHOOK_DELIVERY = 'webhook-delivery';
/** Warns (not critical) while an endpoint stays disabled after a run of failed deliveries. */
export const WEBHOOK_ENDPOINTS = 'webhook-endpoints';

export interface WebhookDispatcherOptions {
  store: Store;
  box: SecretBox;
  senders: EndpointSenders;
  health: HealthReporter;
  log: Logger;
  clock: () => number;
  /** The keyed fingerprint audit entries name an endpoint's URL by (views.ts, endpointAuditView). */
  fingerprintUrl: (url: string) => string;
  intervalMs: number;
  /** Delays before each retry (ms), and the share of each that is random (1: full jitter). */
  schedule: { delaysMs: readonly number[]; jitter: number };
  /** Failed attempts in a row, over all of an endpoint's deliveries, after which it is disabled. */
  disableAfterFailures: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Finished deliveries (and their attempt logs) are deleted this long after they were created. */
  retentionMs: number;
  /** How long a delivery taken for sending stays claimed: longer than an attempt can take. */
  leaseMs: number;
}

const BATCH = 100;
/** Reads and writes of a disable, each refused because the endpoint changed after it was read, before giving up for this round. */
const DISABLE_TRIES = 3;
/** Batches per round at most, so one round ends and reports even while a backlog drains. */
const ROUNDS = 20;
const RETENTION_EVERY_MS = 3_600_000;

/**
 * Delivers the outbox to webhook endpoints, in the background (a PeriodicTask on the main thread,
 * reporting to health; never on the gateway's or the admin API's request path):
 *
 * 1. fan-out: events after the stored cursor become one delivery per enabled, subscribed endpoint,
 *    written with the cursor's new place in one transaction: a crash before it repeats the fan-out,
 *    which the unique (event, endpoint) pair makes harmless; after it, nothing is lost (at-least-once);
 * 2. sending: due deliveries are POSTed, signed, a few at a time; each attempt is logged and the
 *    delivery moves on (delivered, retried later with backoff and jitter, or given up);
 * 3. an endpoint failing `disableAfterFailures` attempts in a row is disabled, audited, and reported.
 *
 * Deliveries to one endpoint are not ordered: a retried event may arrive after a later one (receivers
 * order by the payload's `timestamp`, and deduplicate by `webhook-id`).
 */
export class WebhookDispatcher {
  readonly #o: WebhookDispatcherOptions;
  readonly #task: PeriodicTask;
  #lastRetention = 0;
  #last: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: WebhookDispatcherOptions) {
    this.#o = options;
    options.health.register(WEBHOOK_ENDPOINTS, false);
    this.#task = new PeriodicTask({
      component: WEBHOOK_DELIVERY,
      critical: false,
      health: options.health,
      intervalMs: options.intervalMs,
      atStart: true,
      run: () => this.deliverNow(),
    });
  }

  start(): void {
    this.#task.start();
  }

  /** Wakes delivery now (a change was just announced), unless a round is under way. */
  wake(): void {
    this.#task.trigger();
  }

  /** One round now, after any under way (rounds never overlap): fan-out, then due deliveries. */
  deliverNow(): Promise<void> {
    const round = () => (this.#stopped ? Promise.resolve() : this.#round());
    const call = this.#last.then(round, round);
    this.#last = call;
    return call;
  }

  async #round(): Promise<void> {
    for (let i = 0; i < ROUNDS && (await this.#fanOut()) === BATCH; i++);
    const endpoints = new Map((await this.#o.store.webhooks.all()).map((e) => [e.id, e]));
    for (let i = 0; i < ROUNDS; i++) {
      const due = await this.#o.store.webhooks.due(this.#o.clock(), BATCH, this.#o.leaseMs);
      await inParallel(due, this.#o.concurrency, (d) => this.#attempt(endpoints, d.delivery, d.event));
      if (due.length < BATCH) break;
    }
    await this.#report();
    await this.#retention();
  }

  /** Stops the timer, waits for the round under way (its outcome was reported by whoever started it), closes connections. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#task.stop();
    await Promise.allSettled([this.#last]);
    await this.#o.senders.close();
  }

  async #fanOut(): Promise<number> {
    const { store, clock } = this.#o;
    const after = await store.webhooks.cursor();
    const events = await store.events.after(after, BATCH);
    if (events.length === 0) return 0;
    const endpoints = (await store.webhooks.all()).filter((e) => e.enabled);
    const now = clock();
    const deliveries: WebhookDelivery[] = [];
    // An endpoint gets the events recorded since it was added (older ones only by a replay).
    for (const event of events)
      for (const endpoint of endpoints)
        if (endpointTakes(endpoint, event) && endpoint.createdAt <= event.at) deliveries.push(newDelivery(event, endpoint.id, now));
    await store.webhooks.enqueue(deliveries, events.at(-1)!.seq);
    return events.length;
  }

  async #attempt(endpoints: Map<string, WebhookEndpoint>, delivery: WebhookDelivery, event: OutboxEvent): Promise<void> {
    const { store, clock, box } = this.#o;
    const endpoint = endpoints.get(delivery.endpointId) ?? (await store.webhooks.get(delivery.endpointId));
    // Disabled since the round began (by a run of failures in this very batch): its deliveries wait.
    if (!endpoint?.enabled) return;
    const at = clock();
    const body = webhookBody(event);
    const timestamp = Math.floor(at / 1000);
    const secrets = signingSecrets(endpoint.secrets, at).map((s) => box.open(s.sealed, secretAad(endpoint.id, s.id)));
    // Standard Webhooks, "Webhook headers": the event's id is the message id, the same on every retry.
    const result = await this.#o.senders
      .for(endpoint)
      .send(
        endpoint.url,
        { 'webhook-id': event.id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secrets, event.id, timestamp, body) },
        body,
      );
    const delivered = result.statusCode !== null && isDelivered(result.statusCode);
    const done = clock();
    const next = delivered ? null : nextAttempt(delivery.attempts + 1, done, this.#o.schedule);
    const run = await store.webhooks.recordAttempt(
      { deliveryId: delivery.id, at, ...redacted(result, secrets) },
      { status: delivered ? 'delivered' : next === null ? 'failed' : 'pending', nextAttemptAt: next },
    );
    if (!delivered && run >= this.#o.disableAfterFailures) {
      const disabled = await this.#disable(endpoint.id, run, result);
      if (disabled) endpoints.set(endpoint.id, disabled);
    }
  }

  async #disable(id: string, run: number, last: SendResult): Promise<WebhookEndpoint | null> {
    const { store, clock, log } = this.#o;
    // Written only over the endpoint as read: an operator's edit meanwhile is read again, not overwritten,
    // and a run ended meanwhile is seen on the next read.
    for (let tries = 0; tries < DISABLE_TRIES; tries++) {
      const endpoint = await store.webhooks.get(id);
      // Enabled again meanwhile (its run reset), or a delivery succeeded: not disabled.
      if (!endpoint?.enabled || endpoint.consecutiveFailures < this.#o.disableAfterFailures) return endpoint;
      const now = clock();
      const reason = `disabled after ${run} failed delivery attempts in a row (last: ${last.statusCode ?? last.error})`;
      const disabled: WebhookEndpoint = {
        ...endpoint,
        enabled: false,
        disabledReason: reason,
        disabledBy: 'deliveries',
        updatedAt: Math.max(now, endpoint.updatedAt + 1),
      };
      const written = await store.webhooks.update(
        disabled,
        {
          actor: 'system',
          requestId: null,
          action: 'webhook.disabled',
          targetType: 'webhook',
          targetId: id,
          before: endpointAuditView(endpoint, this.#o.fingerprintUrl),
          after: endpointAuditView(disabled, this.#o.fingerprintUrl),
        },
        // Only while the run is still on: a delivery that succeeded since (in parallel) ended it.
        { readAt: endpoint.updatedAt, failuresAtLeast: this.#o.disableAfterFailures },
      );
      if (!written) continue;
      // Its host, never the whole URL: a path or query often carries the receiver's credential.
      log.warn({ webhook: id, host: new URL(endpoint.url).host, failures: run }, 'webhook endpoint disabled after failed deliveries');
      return disabled;
    }
    throw new Error(`webhook endpoint ${id} kept changing while being disabled after ${run} failed deliveries`);
  }

  async #report(): Promise<void> {
    const failing = (await this.#o.store.webhooks.all()).filter((e) => !e.enabled && e.consecutiveFailures >= this.#o.disableAfterFailures);
    if (failing.length === 0) this.#o.health.ok(WEBHOOK_ENDPOINTS);
    // By id only: /readyz answers anyone who reaches the control listener, and a URL may carry the receiver's credential.
    else this.#o.health.failed(WEBHOOK_ENDPOINTS, new Error(`disabled after failed deliveries: ${failing.map((e) => e.id).join(', ')}`));
  }

  async #retention(): Promise<void> {
    const now = this.#o.clock();
    if (now - this.#lastRetention < RETENTION_EVERY_MS) return;
    this.#lastRetention = now;
    const { store } = this.#o;
    const before = now - this.#o.retentionMs;
    while ((await store.webhooks.deleteFinishedBefore(before, 1000)) === 1000);
    // Outbox events go too, but never one delivery has not read yet.
    const cursor = await store.webhooks.cursor();
    const [reached] = cursor > 0 ? await store.events.after(cursor - 1, 1) : [];
    const cut = Math.min(before, reached ? reached.at : before);
    while ((await store.events.deleteBefore(cut, 1000)) === 1000);
  }
}

export function newDelivery(event: Pick<OutboxEvent, 'id' | 'type' | 'at'>, endpointId: string, now: number): WebhookDelivery {
  return {
    id: newId('delivery', now),
    endpointId,
    eventId: event.id,
    eventType: event.type,
    eventAt: event.at,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    lastAttemptAt: null,
    createdAt: now,
  };
}

/** A receiver that echoes what it got must not put a signing secret into the delivery log. */
function redacted(result: SendResult, secrets: readonly string[]): SendResult {
  let excerpt = result.responseExcerpt;
  for (const secret of secrets) excerpt = excerpt?.replaceAll(secret, '[secret]') ?? null;
  return { ...result, responseExcerpt: excerpt };
}

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}
