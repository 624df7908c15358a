import { createHmac, createSecretKey, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { eventAppId, type EventType } from './events.ts';

type Millis = number;

/**
 * A webhook endpoint: where events are POSTed, which types it takes, and the secrets that sign them.
 * Secrets are kept sealed (domain/secret-box.ts, purpose `webhook-secret`); the newest is first.
 */
export interface WebhookEndpoint {
  id: string;
  url: string;
  /** A subset of EVENT_TYPES; at least one. */
  events: EventType[];
  description: string | null;
  enabled: boolean;
  /** Why it is disabled (by an operator, or after a run of failed deliveries); null when enabled. */
  disabledReason: string | null;
  /**
   * Who disabled it: an operator's disable is not the app's developer to undo; a developer's own pause
   * or a run of failed deliveries is. Absent: enabled, or disabled before this was recorded (read as an
   * operator's: disabledByOf).
   */
  disabledBy?: 'operator' | 'developer' | 'deliveries' | null;
  /** Failed delivery attempts in a row (any delivery); a success resets it. */
  consecutiveFailures: number;
  secrets: SealedWebhookSecret[];
  /**
   * The app it is scoped to (a developer's endpoint, made in the portal): it takes only events about
   * that app (events.ts eventAppId). Absent or null: an operator's endpoint, which takes every event.
   */
  appId?: string | null;
  createdAt: Millis;
  updatedAt: Millis;
}

/**
 * Who disabled the endpoint; null when it is enabled. One disabled before `disabledBy` was recorded is
 * read as an operator's: it might have been, and an operator's disable is not the developer's to undo.
 */
export function disabledByOf(endpoint: Pick<WebhookEndpoint, 'enabled' | 'disabledBy'>): NonNullable<WebhookEndpoint['disabledBy']> | null {
  return endpoint.enabled ? null : (endpoint.disabledBy ?? 'operator');
}

/** Whether an endpoint may be sent this event at all: the type it subscribed to, and its app's only when scoped. */
export function endpointTakes(endpoint: Pick<WebhookEndpoint, 'events' | 'appId'>, event: { type: EventType; data: Record<string, unknown> }): boolean {
  return endpoint.events.includes(event.type) && (!endpoint.appId || eventAppId(event) === endpoint.appId);
}

export interface SealedWebhookSecret {
  /** Names the secret in views and binds its sealed form to it (the box's associated data). */
  id: string;
  sealed: string;
  createdAt: Millis;
  /** When it stops signing: null for the current secret, the overlap's end for one rotated out. */
  expiresAt: Millis | null;
}

/** The secrets that sign now: the current one and those whose overlap has not ended. */
export function signingSecrets<T extends { expiresAt: Millis | null }>(secrets: readonly T[], now: Millis): T[] {
  return secrets.filter((s) => s.expiresAt === null || s.expiresAt > now);
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event to one endpoint: created once per (event, endpoint), retried until delivered or given up. */
export interface WebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: EventType;
  /** When the event happened (epoch ms). */
  eventAt: Millis;
  status: DeliveryStatus;
  /** Attempts in the current round (a replay starts a new round). */
  attempts: number;
  /** When the next attempt is due; null once delivered or given up. */
  nextAttemptAt: Millis | null;
  lastAttemptAt: Millis | null;
  createdAt: Millis;
}

/** One HTTP attempt, as the delivery log keeps it: never a header or a secret, only a short excerpt of the answer. */
export interface DeliveryAttempt {
  deliveryId: string;
  at: Millis;
  /** The answer's status; null when none came (refused, timed out, no route). */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** The first bytes of the answer's body, as text. */
  responseExcerpt: string | null;
}

// Standard Webhooks (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
// a secret is `whsec_` + base64 of 24 to 64 random bytes; we make 32.
const SECRET_PREFIX = 'whsec_';

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/**
 * Standard Webhooks, "Signature scheme": HMAC-SHA256 over `${id}.${timestamp}.${body}` under the
 * secret's bytes, base64, as `v1,<signature>`; several secrets (a rotation's overlap) give a
 * space-separated list, which a receiver accepts when any one matches.
 */
export function signWebhook(secrets: readonly string[], id: string, timestampSeconds: number, body: string): string {
  return secrets.map((secret) => `v1,${createHmac('sha256', secretBytes(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`).join(' ');
}

/** Whether any `v1` signature in the header is one `secret` made (constant-time per comparison). */
export function verifyWebhookSignature(secret: string, id: string, timestampSeconds: number, body: string, header: string): boolean {
  const expected = Buffer.from(signWebhook([secret], id, timestampSeconds, body));
  return header.split(' ').some((part) => {
    const given = Buffer.from(part);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** The body Gatehouse POSTs: Standard Webhooks' `{type, timestamp, data}`. */
export function webhookBody(event: { type: string; at: Millis; data: Record<string, unknown> }): string {
  return JSON.stringify({ type: event.type, timestamp: new Date(event.at).toISOString(), data: event.data });
}

/**
 * What follows a failed attempt: the next one after the schedule's delay for this attempt, less a
 * random part of it (jitter 1 is "full jitter": uniformly anywhere up to the delay, so endpoints that
 * fail together are not retried together), or giving up once the schedule is used up.
 * `attempts` counts the attempts made so far in this round (the first is not a retry).
 */
export function nextAttempt(
  attempts: number,
  now: Millis,
  schedule: { delaysMs: readonly number[]; jitter: number },
  random: () => number = Math.random,
): Millis | null {
  const delay = schedule.delaysMs[attempts - 1];
  if (delay === undefined) return null;
  return now + Math.ceil(delay * (1 - schedule.jitter * random()));
}

/** Any 2xx: delivered (Standard Webhooks, "Retry schedule": anything else is a failure). */
export const isDelivered = (status: number): boolean => status >= 200 && status < 300;

/** How a webhook URL is named in records (audit entries): where it points, and whether it changed. */
export interface RecordedWebhookUrl {
  /** scheme://host[:port], without user or password; null for a URL that does not parse. */
  origin: string | null;
  /** `hmac-sha256:` and 22 base64url characters: equal for equal URLs, reversible by no one without the key. */
  fingerprint: string;
}

/**
 * The fingerprint of webhook URLs under a key derived from the master key (HKDF-SHA-256, RFC 5869). A
 * URL's path or query often is the receiver's credential (`/services/T0/B0/XXXX`, `?token=`), and some
 * are guessable: an unkeyed digest of a known origin and path could be tested offline against guesses.
 */
export function webhookUrlFingerprinter(masterKey: Buffer): (url: string) => string {
  const key = createSecretKey(Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'gatehouse webhook-url-fingerprint v1', 32)));
  return (url) => `hmac-sha256:${createHmac('sha256', key).update(url).digest().subarray(0, 16).toString('base64url')}`;
}

/** A webhook URL as records keep it: its origin and fingerprint, never its path, query or user information. */
export function recordedWebhookUrl(url: string, fingerprint: (url: string) => string): RecordedWebhookUrl {
  return { origin: URL.parse(url)?.origin ?? null, fingerprint: fingerprint(url) };
}

/** A URL with the password of any user information replaced (an API's view of it; records hold none of it). */
export function withoutUrlPassword(url: string): string {
  if (!url.includes('@')) return url;
  const parsed = URL.parse(url);
  if (!parsed?.password) return url;
  parsed.password = 'redacted';
  return parsed.href;
}
