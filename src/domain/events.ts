/**
 * The events that are about one app (its keys, its OAuth clients): the ones an endpoint scoped to an
 * app may take, so a developer's endpoint never hears of sign-ins or signing keys.
 */
export const APP_EVENT_TYPES = [
  'key.created',
  'key.rotated',
  'key.revoked',
  'key.expiring',
  'key.expired',
  'key.rotation_due',
  'key.exposed',
  'key.compromised',
  'quota.threshold',
  'ratelimit.sustained',
  'client.secret_rotated',
] as const;

/**
 * The events Gatehouse announces to webhook endpoints: a closed set, so a receiver can rely on the
 * names and the admin API can refuse a subscription to one that does not exist. Those about one app
 * come first; the two after them are about no app.
 */
export const EVENT_TYPES = [...APP_EVENT_TYPES, 'login.failed_burst', 'signing_key.rotated'] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * The app an event is about, read from its payload: the key's app (a rotation's successor's), or the
 * client's; null for an event about no app. Delivery sends an endpoint scoped to an app only the
 * events this names that app for.
 */
export function eventAppId(event: { data: Record<string, unknown> }): string | null {
  const { key, successor, client } = event.data as Partial<Record<'key' | 'successor' | 'client', { appId?: unknown } | null>>;
  const appId = key?.appId ?? successor?.appId ?? client?.appId;
  return typeof appId === 'string' ? appId : null;
}

/**
 * An event to announce. It is written to the outbox in the same transaction as the change that
 * caused it (as part of that change's AuditInput), or on its own for events no change causes
 * (a key nearing expiry, a quota threshold crossed). Delivery reads the outbox later, so a change
 * that commits is announced at least once and one that rolls back never is.
 */
export interface EventInput {
  type: EventType;
  /** The payload's `data` (Standard Webhooks): ids and views, never a secret. */
  data: Record<string, unknown>;
  /**
   * When set, the outbox records at most one event with this key, ever: events found by a periodic
   * scan (`key.expiring:<keyId>:<leadTime>`) are announced once however often the scan runs.
   */
  dedupeKey?: string | undefined;
}

/** An event as the outbox keeps it: its id is the Standard Webhooks `webhook-id`, stable across retries. */
export interface OutboxEvent {
  id: string;
  /** Its place in the outbox: delivery reads events in this order, resuming after the last seq it took. */
  seq: number;
  /** When it was recorded (epoch ms): the payload's `timestamp`. */
  at: number;
  type: EventType;
  data: Record<string, unknown>;
}
