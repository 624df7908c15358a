import type { ProblemCode } from '../domain/codes.ts';
import type { ConsoleRole } from '../domain/console-roles.ts';
import type { ExposurePolicy } from '../domain/exposure-policy.ts';
import type { Pepper } from '../domain/key-hash.ts';
import type { SecretBox } from '../domain/secret-box.ts';
import type { SigningAlg } from '../domain/entities.ts';
import type { WebhookEndpoint } from '../domain/webhooks.ts';
import { classifySecret } from '../domain/secret-scan.ts';
import { pathWithoutSecrets } from '../domain/secret-redaction.ts';
import type { SendResult } from './webhooks/sender.ts';
import type { PortalSettings } from './services/portal.ts';
import type { Throttle } from '../limits/port.ts';
import type { ChangeBus } from '../events/change-bus.ts';
import type { RequestLogRepo, Store, UsageAnalyticsRepo } from '../store/port.ts';
import type { UsageMeter } from '../usage/port.ts';
import type { OidcRecords } from './authorization/oidc-records.ts';
import type { KeyChecker } from '../verification/port.ts';
import type { IdentityLimits } from '../limits/identity-limits.ts';

/** What the control plane's services are handed by the entry point. */
export interface ControlContext {
  store: Store;
  /** The request log's reads, on a thread of their own (writer/store-thread.ts): a long scan never holds the event loop. */
  requestLog: Pick<RequestLogRepo, 'query'>;
  changes: ChangeBus;
  peppers: readonly Pepper[];
  usage: UsageMeter;
  verifier: KeyChecker;
  /** An API's own limits per app, on the gateway's limiter: the verify endpoint decides them as the gateway does. */
  identityLimits: IdentityLimits;
  clock: () => number;
  /** Present when a master key is configured: users, clients, signing keys and tokens need it. */
  identity: IdentityContext | null;
  /** Whether any token issuer is trusted (our own, or a configured one), so APIs may ask for bearer tokens. */
  bearerAvailable: boolean;
  /** Whether the gateway asks for client certificates (client CAs configured), so APIs may require mutual TLS. */
  mtlsAvailable: boolean;
  /** Usage analytics; null when `analytics.enabled` is false. */
  analytics: AnalyticsContext | null;
  /** The exposure policy, and how far back the sources of an impact report reach. */
  incidents: IncidentSettings;
  /** Webhooks (control/webhooks/); null without a master key (their secrets are sealed under it) or with webhooks.enabled false. */
  webhooks: WebhooksContext | null;
  /** The developer portal's settings (config `portal`); absent: the defaults. */
  portal?: PortalSettings;
}

export interface IncidentSettings {
  /** What markExposed does to an exposed key, per environment (config `exposure`). */
  exposure: ExposurePolicy;
  /** Whole UTC days before today the request log keeps (config requestLog.retentionDays); null when it is off. */
  requestLogDays: number | null;
  /** An address not seen for this many days is forgotten (keyAddresses.retentionDays): "first seen" reaches no further back. */
  keyAddressDays: number;
}

/** Test sends one endpoint may be sent a minute (admin API and portal alike). */
export const TEST_SENDS_PER_MINUTE = 5;

export interface WebhooksContext {
  /** Seals endpoint secrets (purpose `webhook-secret`), bound to endpoint and secret ids. */
  box: SecretBox;
  /**
   * Refuses (VALIDATION_FAILED) a URL webhooks may not be sent to: scheme, credentials, and where its
   * host resolves, for that endpoint (a developer's, with `appId`, only to public addresses).
   */
  checkUrl(url: string, endpoint: Pick<WebhookEndpoint, 'appId'>): Promise<void>;
  /** How long a rotated-out secret keeps signing, unless the rotation says. */
  secretOverlapMs: number;
  /** The keyed fingerprint audit entries name an endpoint's URL by (views.ts, endpointAuditView). */
  fingerprintUrl(url: string): string;
  /** Wakes delivery (after a replay), without waiting for it. */
  wake(): void;
  /** Sends one signed synthetic event (`webhook.test`) to the endpoint now and says how it went. */
  ping(endpoint: WebhookEndpoint): Promise<SendResult & { eventId: string }>;
  /** Test sends per endpoint: each is a request Gatehouse makes on someone's word, so they are few. */
  testSends: Throttle;
}

export interface AnalyticsContext {
  /** Writes the counts held in memory, so a read includes them. */
  flush(): Promise<void>;
  /** Rollup reads, on the reader thread. */
  query: UsageAnalyticsRepo['query'];
  /** How long each rollup is kept, for choosing a granularity that still holds the range. */
  retention: { minuteRetentionHours: number; hourRetentionDays: number; dayRetentionDays: number };
  /** The IANA zone (or UTC) billing periods are calendar days and months of. */
  billingTimeZone: string;
  /** How long after its end a period's counts are all written (this node's flush interval and a margin): then it is final. */
  settleMs: number;
}

export interface IdentityContext {
  signingKeyBox: SecretBox;
  totpBox: SecretBox;
  /** The authorization server's records, by the ids clients hold; the store keeps only keyed hashes of them. */
  oidcRecords: OidcRecords;
  /** Roles whose users must use MFA; users may also be flagged one by one. */
  mfaRequiredRoles: readonly string[];
  /** Console roles whose users must use MFA (admin and operator by default). */
  mfaRequiredConsoleRoles: readonly ConsoleRole[];
  signing: { alg: SigningAlg; publishLeadMs: number; rotateEveryMs: number };
  /** The longest any token signed by a key can live: how long a retired key stays published. */
  maxTokenLifetimeMs: number;
}

/** Who asks for a change, for the audit log. */
export interface Actor {
  actor: string;
  requestId: string | null;
  /** A person's sign-in name (actor `user:<id>`), recorded beside the id. */
  actorName?: string | undefined;
}

/** A request the control plane refuses; the admin API renders it as problem+json. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  readonly code: ProblemCode;
  readonly fields: Record<string, string> | undefined;
  /** For a refusal that passes (RATE_LIMITED): the answer's Retry-After, in seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ProblemCode, detail: string, fields?: Record<string, string>, options: { retryAfterSeconds?: number } = {}) {
    super(detail);
    this.code = code;
    this.fields = fields;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The problem answer's headers beyond its content type. */
  headers(): Record<string, string> {
    return this.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(this.retryAfterSeconds) };
  }
}

/**
 * A caller's text for an answer, with each of our secrets in it cut to its non-secret start and
 * anything else secret-shaped (a JWT, a key hidden behind percent-encoding) replaced, by the rule the
 * request log and trace spans use (domain/secret-redaction.ts): an answer never echoes a secret.
 */
export function redactSecrets(text: string): string {
  return pathWithoutSecrets(text, (secret) => {
    const key = classifySecret(secret);
    return key === null ? '{secret}' : `${key.start}…`;
  });
}

export const notFound = (what: string, id: string): ControlError => new ControlError('RESOURCE_NOT_FOUND', `no ${what} with id ${redactSecrets(id)}`);

/** What a store read found, or 404 RESOURCE_NOT_FOUND naming what was asked for: `requireFound(await repo.get(id), 'key', id)`. */
export function requireFound<T>(found: T | null | undefined, what: string, id: string): T {
  if (found === null || found === undefined) throw notFound(what, id);
  return found;
}

/** RFC 3339 (UTC) for the admin API; a time that is always set stays a string. */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
