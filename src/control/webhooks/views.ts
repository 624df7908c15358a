import {
  recordedWebhookUrl,
  withoutUrlPassword,
  type DeliveryAttempt,
  type RecordedWebhookUrl,
  type WebhookDelivery,
  type WebhookEndpoint,
} from '../../domain/webhooks.ts';
import { iso } from '../context.ts';
import type { WebhookDeliveryView, WebhookView } from '../admin/webhook-responses.ts';

/** The associated data a secret is sealed with: it opens only as this endpoint's secret of this id. */
export const secretAad = (endpointId: string, secretId: string): string => `${endpointId}/${secretId}`;

/**
 * An endpoint as the admin API shows it: secrets by id and times only. Its URL is shown to those who
 * may read webhooks (user information is refused at create; a password is never shown all the same).
 */
export function endpointView(endpoint: WebhookEndpoint): WebhookView {
  return {
    id: endpoint.id,
    url: withoutUrlPassword(endpoint.url),
    events: endpoint.events,
    description: endpoint.description,
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason,
    consecutiveFailures: endpoint.consecutiveFailures,
    secrets: endpoint.secrets.map((s) => ({ id: s.id, createdAt: iso(s.createdAt), expiresAt: iso(s.expiresAt) })),
    appId: endpoint.appId ?? null,
    createdAt: iso(endpoint.createdAt),
    updatedAt: iso(endpoint.updatedAt),
  };
}

/**
 * An endpoint as audit entries record it: the admin API's view with the URL as its origin and a keyed
 * fingerprint. The path or query often is the receiver's credential, and the audit log is read with
 * another permission, exported and kept far longer than the endpoint.
 */
export function endpointAuditView(endpoint: WebhookEndpoint, fingerprintUrl: (url: string) => string): Omit<WebhookView, 'url'> & { url: RecordedWebhookUrl } {
  return { ...endpointView(endpoint), url: recordedWebhookUrl(endpoint.url, fingerprintUrl) };
}

export function deliveryView(d: WebhookDelivery): WebhookDeliveryView {
  return {
    id: d.id,
    endpointId: d.endpointId,
    eventId: d.eventId,
    eventType: d.eventType,
    eventAt: iso(d.eventAt),
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: iso(d.nextAttemptAt),
    lastAttemptAt: iso(d.lastAttemptAt),
    createdAt: iso(d.createdAt),
  };
}

export function attemptView(a: DeliveryAttempt) {
  return { at: iso(a.at), statusCode: a.statusCode, error: a.error, durationMs: a.durationMs, responseExcerpt: a.responseExcerpt };
}
