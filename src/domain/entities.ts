import type { Environment } from './key-format.ts';

/** Times are epoch milliseconds (UTC) inside Gatehouse; the admin API speaks RFC 3339. */
export type Millis = number;

export interface RateLimitRule {
  /** Names a limit in the RateLimit headers and in verify answers, e.g. "per-second". */
  name: string;
  limit: number;
  windowMs: number;
}

export type QuotaPeriod = 'day' | 'month';

export interface QuotaRule {
  limit: number;
  period: QuotaPeriod;
}

/** An API key may use an API, optionally only some methods and path patterns inside it. */
export interface AccessRule {
  apiId: string;
  /** Upper-case HTTP methods; absent means every method. */
  methods?: string[];
  /** Patterns relative to the API's listen path: `*` is one segment, `**` the rest. Absent: all. */
  paths?: string[];
}

export type ApiAuthType = 'apiKey' | 'public';

export interface Api {
  id: string;
  name: string;
  listenPath: string;
  upstreamUrl: string;
  auth: { type: ApiAuthType; scopes: string[] };
  /** Upstream timeout for the whole exchange, milliseconds. */
  timeoutMs: number;
  createdAt: Millis;
  updatedAt: Millis;
}

export interface App {
  id: string;
  name: string;
  owner: string | null;
  metadata: Record<string, unknown>;
  createdAt: Millis;
  updatedAt: Millis;
}

/** Settings a key may inherit from its policy; a value on the key wins. */
export interface KeySettings {
  access: AccessRule[] | null;
  rateLimits: RateLimitRule[] | null;
  quota: QuotaRule | null;
  ipAllowlist: string[] | null;
  scopes: string[] | null;
}

export interface Policy extends KeySettings {
  id: string;
  name: string;
  createdAt: Millis;
  updatedAt: Millis;
}

export interface ApiKey extends KeySettings {
  id: string;
  appId: string;
  policyId: string | null;
  name: string;
  environment: Environment;
  /** Non-secret display prefix of the secret. */
  start: string;
  /** HMAC of the secret under the pepper `pepperId`; never leaves the store port. */
  hash: string;
  pepperId: string;
  enabled: boolean;
  expiresAt: Millis | null;
  revokedAt: Millis | null;
  revokedReason: string | null;
  /** Rotation links: the key this one replaced, and the key that replaced it. */
  rotatedFrom: string | null;
  replacedBy: string | null;
  metadata: Record<string, unknown>;
  createdAt: Millis;
  updatedAt: Millis;
  lastUsedAt: Millis | null;
}

export interface AdminKey {
  id: string;
  name: string;
  start: string;
  hash: string;
  pepperId: string;
  permissions: string[];
  createdAt: Millis;
  revokedAt: Millis | null;
}

export interface AuditEntry {
  id: string;
  at: Millis;
  /** Who made the change: `admin_key:<id>`, `cli`, `system`. */
  actor: string;
  action: string;
  targetType: 'api' | 'app' | 'policy' | 'key' | 'admin_key';
  targetId: string;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export type AuditInput = Omit<AuditEntry, 'id' | 'at'>;
