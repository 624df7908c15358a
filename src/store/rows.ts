import type { ApiKey } from '../domain/entities.ts';
import { eventAppId, type EventType } from '../domain/events.ts';
import type { DeliveryStatus, WebhookDelivery, WebhookEndpoint } from '../domain/webhooks.ts';
import type { ExchangedToken, KeyAddressUse, RequestLogEntry } from './port.ts';

// Rows read back as the port's records, the same for every adapter: the columns are named alike in
// SQLite and PostgreSQL, and each value is read with String or Number, whatever type the driver gave.

type Row = Record<string, unknown>;

const textOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

/**
 * A key from its entity JSON (`data`: the SQLite adapter passes it as text, PostgreSQL's driver as
 * parsed jsonb) and its usage columns, which usage flushes write (each adapter's usage.ts) and which win
 * over the JSON's. The parsed object is completed in place: copying its fields with a rest and a
 * spread cost about 9 µs of a key-cache miss's 110 (issue 14, bench/key-miss.ts).
 */
export function keyFromRow(row: Row): ApiKey {
  const key = (typeof row.data === 'string' ? JSON.parse(row.data) : row.data) as ApiKey;
  key.lastUsedAt = row.last_used_at === null || row.last_used_at === undefined ? null : Number(row.last_used_at);
  if (typeof row.last_used_from === 'string') key.lastUsedFrom = row.last_used_from;
  else if (key.lastUsedFrom !== undefined) delete key.lastUsedFrom;
  return key;
}

export function requestLogEntryFromRow(row: Row): RequestLogEntry {
  return {
    at: Number(row.at),
    requestId: String(row.request_id),
    traceId: textOrNull(row.trace_id),
    apiId: textOrNull(row.api_id),
    api: textOrNull(row.api),
    route: textOrNull(row.route),
    method: String(row.method),
    path: String(row.path),
    query: textOrNull(row.query),
    status: Number(row.status),
    denialCode: textOrNull(row.denial_code),
    durationMs: Number(row.duration_ms),
    upstreamMs: row.upstream_ms === null ? null : Number(row.upstream_ms),
    bytesIn: Number(row.bytes_in),
    bytesOut: Number(row.bytes_out),
    keyId: textOrNull(row.key_id),
    appId: textOrNull(row.app_id),
    user: textOrNull(row.user_sub),
    clientId: textOrNull(row.client_id),
    address: String(row.address),
    userAgent: textOrNull(row.user_agent),
  };
}

export function deliveryFromRow(row: Row): WebhookDelivery {
  return {
    id: String(row.id),
    endpointId: String(row.endpoint_id),
    eventId: String(row.event_id),
    eventType: row.event_type as EventType,
    eventAt: Number(row.event_at),
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
    lastAttemptAt: row.last_attempt_at === null ? null : Number(row.last_attempt_at),
    createdAt: Number(row.created_at),
  };
}

/**
 * An endpoint's `data` as stored (its run of failures lives in its own column). An endpoint scoped to
 * an app keeps its event types under `appEvents`, with `events` empty: a node from before app scopes
 * (during a rolling upgrade) would send it every app's events, and so sends it none; what such a node
 * writes back keeps `appEvents` as it read it (docs/deployment.md, expand then contract).
 */
export function endpointData(endpoint: WebhookEndpoint): WebhookEndpoint & { appEvents?: EventType[] } {
  const stored = { ...endpoint, consecutiveFailures: 0 };
  return endpoint.appId ? { ...stored, events: [], appEvents: endpoint.events } : stored;
}

export function endpointFromData(data: WebhookEndpoint & { appEvents?: EventType[] }, consecutiveFailures: unknown): WebhookEndpoint {
  const { appEvents, ...endpoint } = data;
  return { ...endpoint, ...(appEvents ? { events: appEvents } : {}), consecutiveFailures: Number(consecutiveFailures) };
}

/** Whether an outbox row (`data` as JSON text or as parsed by the driver) is about the endpoint's app, when it is scoped to one. */
export function rowInScope(endpoint: Pick<WebhookEndpoint, 'appId'>, row: Row): boolean {
  if (!endpoint.appId) return true;
  const data = (typeof row.data === 'string' ? JSON.parse(row.data) : row.data) as Record<string, unknown>;
  return eventAppId({ data }) === endpoint.appId;
}

export function exchangedTokenFromRow(row: Row): ExchangedToken {
  return {
    jti: String(row.jti),
    keyId: String(row.key_id),
    clientId: String(row.client_id),
    audience: String(row.audience),
    scope: String(row.scope),
    issuedAt: Number(row.issued_at),
    expiresAt: Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

export function keyAddressUseFromRow(row: Row): KeyAddressUse {
  return {
    keyId: String(row.key_id),
    address: String(row.address),
    firstSeen: Number(row.first_seen),
    lastSeen: Number(row.last_seen),
    requests: Number(row.requests),
  };
}
