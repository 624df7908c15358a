import type { ConsoleRole } from './console-roles.ts';
import type { EventInput } from './events.ts';
import type { Environment } from './key-format.ts';
import type { RetireWhenDrained, RotationRule } from './rotation.ts';

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

/**
 * What a request to an API (or one of its routes) must carry: an API key (identifies the app), a
 * bearer access token (authenticates the user), both, or nothing. `publishable` marks public-read
 * routes that also take publishable keys (`gk_pub_`, from browsers and mobile apps, origin-checked).
 */
export const AUTH_TYPES = ['apiKey', 'bearer', 'apiKey+bearer', 'public', 'publishable'] as const;
export type ApiAuthType = (typeof AUTH_TYPES)[number];

/**
 * A limit counted per caller identity on an API or route: per app, per user, or per app and user.
 * With `windowSeconds` a rate limit (GCRA); with `period` a calendar quota (UTC day or month).
 */
export interface IdentityLimit {
  name: string;
  limit: number;
  windowSeconds?: number;
  period?: QuotaPeriod;
  by: 'app' | 'user' | 'app+user';
}

/** A route-level difference: the first rule matching method and path wins over the API's defaults. */
export interface AuthRule {
  /** Upper-case methods; absent means every method. */
  methods?: string[];
  /** Path patterns relative to the listen path (`*` one segment, `**` the rest); absent: all. */
  paths?: string[];
  type?: ApiAuthType;
  scopes?: string[];
  roles?: string[];
  rateLimits?: IdentityLimit[];
}

export interface ApiAuth {
  type: ApiAuthType;
  /** Scopes the credential that authorizes the call must hold: the token when there is one, else the key. */
  scopes: string[];
  /** Roles the user must hold (bearer tokens only). */
  roles?: string[];
  /** Counted for every request to the API, unless a matching route rule sets its own. */
  rateLimits?: IdentityLimit[];
  routes?: AuthRule[];
}

/** How the authorization server issues access tokens for an API (RFC 8707 resource). */
export interface ApiTokenSettings {
  /** The resource indicator and `aud` of its access tokens; an absolute URI. */
  audience: string;
  /** Access-token lifetime for this API, seconds; a client's own setting may shorten it. */
  accessTokenTtlSeconds: number;
}

export interface Api {
  id: string;
  name: string;
  listenPath: string;
  upstreamUrl: string;
  auth: ApiAuth;
  tokens: ApiTokenSettings;
  /** Mutual TLS: callers must present a client certificate from the configured client CAs. */
  mtls?: boolean;
  /** Send the upstream a short-lived JWT signed by Gatehouse naming the caller (verifiable with the JWKS). */
  identityJwt?: boolean;
  /**
   * `insensitive`: the upstream routes without regard to case (Express's default, IIS...), so route
   * rules and key path limits match without regard to case too; such an API takes ASCII paths only.
   * Absent: `sensitive`, the default.
   */
  pathCase?: PathCase;
  /**
   * The request log: `false`, this API's requests are not logged; `{ query: true }`, its query
   * strings are kept with their values (credentials still removed). Absent: logged, query
   * parameter names only.
   */
  requestLog?: false | { query: true };
  /**
   * What the gateway does with this API's limits and DPoP replay checks while Redis cannot answer:
   * `local` counts in each node (each limit divided by redis.expectedNodes), `fail-closed` refuses.
   * Absent: the deployment's redis.whenUnavailable.
   */
  whenRedisUnavailable?: WhenRedisUnavailable;
  /** Upstream timeout for the whole exchange, milliseconds. */
  timeoutMs: number;
  /** The developer portal's catalogue: listed there (portal keys may use it), with a description. Absent: not listed. */
  portal?: ApiPortalSettings;
  createdAt: Millis;
  updatedAt: Millis;
}

export interface ApiPortalSettings {
  listed: boolean;
  description: string | null;
}

/** An OpenAPI 3.x document an operator attached to an API, shown as its reference in the portal. */
export interface ApiDocument {
  apiId: string;
  /** application/json or application/yaml, as it was sent. */
  contentType: string;
  body: string;
  updatedAt: Millis;
}

export const PATH_CASES = ['sensitive', 'insensitive'] as const;
export const WHEN_REDIS_UNAVAILABLE = ['local', 'fail-closed'] as const;
export type WhenRedisUnavailable = (typeof WHEN_REDIS_UNAVAILABLE)[number];
export type PathCase = (typeof PATH_CASES)[number];

export interface App {
  id: string;
  name: string;
  owner: string | null;
  /** The developer (user id) who made it in the portal and may manage it there; absent or null: the operators' only. */
  ownerUserId?: string | null;
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
  /** How often the key's secret should be replaced (domain/rotation.ts); absent on records made before it existed. */
  rotation?: RotationRule | null;
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
  /** When the key was seen crossing the network in clear text (sent over plain HTTP); absent: never. */
  exposedAt?: Millis | null;
  /** A publishable key (`gk_pub_`): safe to embed, works only on publishable routes, only from its origins. */
  publishable?: boolean;
  /** Origins (`https://app.example`) a publishable key may be used from. */
  allowedOrigins?: string[];
  /** Bound to a client certificate: the key works only over mutual TLS with this certificate (SHA-256 of its DER, base64url, as RFC 8705 x5t#S256). */
  certificateThumbprint?: string | null;
  /** Rotation links: the key this one replaced, and the key that replaced it. */
  rotatedFrom: string | null;
  /**
   * The first key of this key's rotations, whose rate limits and quota this key continues (absent:
   * the key is its own lineage). Read it with lineageOf().
   */
  lineageId?: string;
  replacedBy: string | null;
  /** A rotated key that retires itself once no request has used it for a quiet period (domain/rotation.ts). */
  retireWhenDrained?: RetireWhenDrained | null;
  metadata: Record<string, unknown>;
  createdAt: Millis;
  updatedAt: Millis;
  lastUsedAt: Millis | null;
  /** The client address of the latest use (usage flushes keep it, with lastUsedAt). */
  lastUsedFrom?: string;
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
  /** Who made the change: `admin_key:<id>`, `user:<id>` (a person signed in to the web app), `cli`, `system`. */
  actor: string;
  /** The actor's name when it is a person (`user:<id>`): their sign-in name as it was at the time. Absent otherwise. */
  actorName?: string | undefined;
  action: string;
  targetType: 'api' | 'app' | 'policy' | 'key' | 'admin_key' | 'user' | 'client' | 'signing_key' | 'grant' | 'webhook';
  targetId: string;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

/**
 * A change's audit entry, as the services hand it to the store with the change. `events` are the
 * webhook events the change causes: the adapter writes them to the outbox in the same transaction.
 */
export type AuditInput = Omit<AuditEntry, 'id' | 'at'> & { events?: readonly EventInput[] | undefined };

/** A person who signs in at the authorization server. */
export interface User {
  id: string;
  /** Sign-in name: an e-mail address, compared case-insensitively. */
  username: string;
  name: string | null;
  /** PHC-style scrypt string; never leaves the store port or the control plane. */
  passwordHash: string;
  roles: string[];
  disabled: boolean;
  /** MFA demanded of this user whatever their roles. */
  mfaRequired: boolean;
  /** What the user may do in the web app (domain/console-roles.ts); absent on users stored before it existed: none. */
  consoleRole?: ConsoleRole | null;
  /** A portal sign-up waiting for an operator's approval (portal.signup: approval): cannot sign in until approved. */
  pendingApproval?: boolean;
  totp: TotpEnrolment | null;
  createdAt: Millis;
  updatedAt: Millis;
  lastLoginAt: Millis | null;
}

export interface TotpEnrolment {
  /** The base32 secret sealed under the master key (secret-box). */
  sealedSecret: string;
  confirmedAt: Millis | null;
  /** The last accepted 30-second step: a code is accepted once (RFC 6238 §5.2). */
  lastStep: number;
  /** Keyed hashes of the unused recovery codes. */
  recoveryCodeHashes: string[];
  pepperId: string;
}

export type ClientType = 'confidential' | 'public';

/** An OAuth 2.0 client (RFC 6749 §2). Its id is the client_id. */
export interface OAuthClient {
  id: string;
  name: string;
  type: ClientType;
  /** Keyed hash of the client secret (confidential clients); the secret is shown once. */
  secretHash: string | null;
  pepperId: string | null;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: OAuthGrantType[];
  /** Scopes this client may be granted, across its APIs. */
  scopes: string[];
  /** APIs (by id) this client may get access tokens for. */
  apiIds: string[];
  /** First-party clients skip the consent page. */
  firstParty: boolean;
  /** Access tokens only with a DPoP proof (RFC 9449). */
  dpopBound: boolean;
  /** For token exchange (RFC 8693): which app's keys this client may exchange; null for none. */
  exchangeAppId: string | null;
  accessTokenTtlSeconds: number | null;
  disabled: boolean;
  /** The app it was registered for in the developer portal, whose owner may manage it there; absent or null: the operators' only. */
  appId?: string | null;
  createdAt: Millis;
  updatedAt: Millis;
}

export const OAUTH_GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:ietf:params:oauth:grant-type:token-exchange',
] as const;
export type OAuthGrantType = (typeof OAUTH_GRANT_TYPES)[number];

export type SigningAlg = 'ES256' | 'RS256' | 'EdDSA';

/**
 * A token-signing key. Published in the JWKS from creation; signs from `activatesAt` until a newer
 * key activates; stays published until `unpublishAt`, when every token it signed has expired.
 */
export interface SigningKey {
  id: string;
  alg: SigningAlg;
  publicJwk: Record<string, unknown>;
  /** The private JWK sealed under the master key. */
  sealedPrivateJwk: string;
  activatesAt: Millis;
  retiredAt: Millis | null;
  unpublishAt: Millis | null;
  createdAt: Millis;
  updatedAt: Millis;
}

/** The lineage whose rate limits and quota a key spends: its first predecessor's id, else its own. */
export const lineageOf = (key: Pick<ApiKey, 'id' | 'lineageId'>): string => key.lineageId ?? key.id;
