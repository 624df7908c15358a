// The admin and portal API shapes the pages read (docs: GET /admin/v1/openapi.json).

export type Role = 'admin' | 'operator' | 'auditor' | 'developer';

export interface Session {
  user: { id: string; name: string; displayName?: string };
  role: Role;
  permissions: string[];
  csrfToken: string;
  expiresAt: string;
}

export interface RateLimit {
  name: string;
  limit: number;
  windowSeconds?: number;
  period?: string;
  by?: string;
}

export interface Api {
  id: string;
  name: string;
  listenPath: string;
  upstreamUrl: string;
  auth: { type: string; scopes: string[]; roles?: string[]; rateLimits?: RateLimit[]; routes?: unknown[] };
  /** The developer portal: listed in its catalogue, with a description. */
  portal?: { listed: boolean; description: string | null };
  timeoutSeconds: number;
  pathCase: string;
  createdAt: string;
  updatedAt: string;
}

export interface App {
  id: string;
  name: string;
  owner: string | null;
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface KeyDrain {
  /** The key that works in its place; null when none does (its successor was revoked, expired or deleted). */
  successorId: string | null;
  rotatedAt: string;
  graceEndsAt: string;
  addresses: number;
  otherAddresses: boolean;
  lastUsedAt: string | null;
  secondsSinceLastUse: number | null;
  quiet: boolean;
  /** Quiet, and another key of the line works: it can be revoked now. */
  retirable: boolean;
}

export interface Key {
  id: string;
  appId: string;
  policyId: string | null;
  name: string;
  environment: 'live' | 'test';
  start: string;
  enabled: boolean;
  expiresAt: string | null;
  revokedAt: string | null;
  revokedReason: string | null;
  exposedAt: string | null;
  rotatedFrom: string | null;
  replacedBy: string | null;
  access: AccessRule[] | null;
  rateLimits: RateLimit[] | null;
  quota: { limit: number; period: string } | null;
  metadata: Record<string, unknown>;
  createdAt: string;
  status: string;
  lastUsedAt: string | null;
  lastUsedFrom: string | null;
  rotationDueAt: string | null;
  rotationDue: boolean;
  drain?: KeyDrain | null;
}

export interface NewKey extends Key {
  secret: string;
}

export interface RotatedKey extends NewKey {
  previous: Key;
}

export interface KeyAddresses {
  keyId: string;
  items: { address: string; firstSeenAt: string; lastSeenAt: string; requests: number }[];
  nextCursor: string | null;
  otherAddresses: { firstSeenAt: string; lastSeenAt: string; requests: number } | null;
}

export interface KeyUsage {
  keyId: string;
  days: { day: string; requests: number }[];
}

export interface Compromise {
  key: Key;
  replacement: NewKey | null;
  successorId: string | null;
  tokensRevoked: number;
  summary: string;
}

export interface Totals {
  requests: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  averageDurationMs: number | null;
  /** From the rollups' fixed latency histogram, interpolated inside a bucket; null without requests. */
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface UsageReport {
  from: string;
  until: string;
  granularity: 'minute' | 'hour' | 'day';
  groupBy: string[];
  totals: Totals;
  series: {
    group: Partial<Record<'key' | 'app' | 'api' | 'route' | 'statusClass' | 'denialCode', string | null>>;
    totals: Totals;
    points: ({ at: string } & Totals)[];
  }[];
}

export interface RequestRecord {
  at: string;
  requestId: string;
  api: string | null;
  route: string | null;
  method: string;
  path: string;
  status: number;
  denialCode: string | null;
  durationMs: number;
  keyId: string | null;
  appId: string | null;
  user: string | null;
  clientId: string | null;
  address: string;
  userAgent: string | null;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export interface AccessRule {
  apiId: string;
  methods?: string[];
  paths?: string[];
}

export interface Policy {
  id: string;
  name: string;
  access: AccessRule[] | null;
  rateLimits: RateLimit[] | null;
  quota: { limit: number; period: string } | null;
  ipAllowlist: string[] | null;
  scopes: string[] | null;
  rotation: { periodDays: number; noticeDays?: number; expireAfterGraceDays?: number } | null;
  createdAt: string;
  updatedAt: string;
}

/** POST /admin/v1/portal/invites: the single-use sign-up link (its token is in this answer only). */
export interface PortalInvite {
  email: string;
  path: string;
  token: string;
  expiresAt: string;
}

export interface User {
  id: string;
  username: string;
  name: string | null;
  roles: string[];
  disabled: boolean;
  mfaRequired: boolean;
  /** required: whether they must pass a second factor now (their flag, a role, or their console role: admin and operator by default). */
  mfa: { required?: boolean; enrolled?: boolean; recoveryCodesLeft?: number };
  /** The web app's role; null: no console or portal. */
  consoleRole?: Role | null;
  /** A portal sign-up waiting for an operator's approval (portal.signup: approval). */
  pendingApproval?: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

export interface UserGrants {
  grants: { id: string; clientId: string; scopes: string[]; expiresAt: string | null }[];
  sessions: { id: string; signedInAt: string | null; amr: string[]; expiresAt: string | null }[];
}

export interface Client {
  id: string;
  name: string;
  type: string;
  grantTypes: string[];
  scopes: string[];
  firstParty: boolean;
  disabled: boolean;
  createdAt: string;
}

export interface SigningKey {
  id: string;
  alg: string;
  state: string;
  activatesAt: string;
  retiredAt: string | null;
  createdAt: string;
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  consecutiveFailures: number;
  createdAt: string;
}

export interface WebhookDelivery {
  id: string;
  eventId: string;
  eventType: string;
  eventAt: string;
  status: string;
  attempts: number;
  lastAttemptAt: string | null;
}

/** One API of the portal's catalogue. */
export interface CatalogueApi {
  id: string;
  name: string;
  listenPath: string;
  /** Where to call it: the gateway's URL and the listen path. */
  gatewayUrl: string;
  description: string | null;
  auth: string;
  scopes: string[];
  hasReference: boolean;
}
