import type { AdminKey, Api, ApiKey, App, AuditEntry, AuditInput, OAuthClient, Policy, SigningKey, User } from '../../domain/entities.ts';
import { newId } from '../../domain/ids.ts';
import type { AuditQuery, KeyListQuery, RequestLogEntry, Store } from '../port.ts';

// What the store contract's suites make and read with: entities, audit inputs, and reads that follow every cursor.

/** The suites' "now": entities are created and usage counted around it. */
export const T0 = Date.UTC(2026, 10, 29, 12);
let seq = 0;
/** Ids with distinct, increasing timestamps, so creation order is id order. */
const id = (kind: Parameters<typeof newId>[0]) => newId(kind, T0 + ++seq);

export const makeApi = (n: number): Api => ({
  id: id('api'),
  name: `api-${n}`,
  listenPath: `/api-${n}`,
  upstreamUrl: `http://127.0.0.1:9/${n}`,
  auth: { type: 'apiKey', scopes: [] },
  tokens: { audience: `urn:gatehouse:api:api-${n}`, accessTokenTtlSeconds: 900 },
  timeoutMs: 5000,
  createdAt: T0,
  updatedAt: T0,
});
export const makeApp = (n: number): App => ({ id: id('app'), name: `app-${n}`, owner: null, metadata: { n }, createdAt: T0, updatedAt: T0 });
export const makePolicy = (n: number, settings: Partial<Policy> = {}): Policy => ({
  id: id('policy'),
  name: `policy-${n}`,
  access: null,
  rateLimits: [{ name: 'rps', limit: n + 1, windowMs: 1000 }],
  quota: null,
  ipAllowlist: null,
  scopes: null,
  createdAt: T0,
  updatedAt: T0,
  ...settings,
});
export const makeKey = (appId: string, overrides: Partial<ApiKey> = {}): ApiKey => keyRecord(appId, { id: id('key'), ...overrides });

/** A stored key record with every field set, for tests: no policy, no settings, active, never used. */
export function keyRecord(appId: string, overrides: Partial<ApiKey> = {}, at = T0): ApiKey {
  const keyId = overrides.id ?? newId('key', at);
  return {
    id: keyId,
    appId,
    policyId: null,
    name: `key-${keyId}`,
    environment: 'live',
    start: 'gk_live_abcd',
    hash: `hash-${keyId}`,
    pepperId: 'p1',
    enabled: true,
    expiresAt: null,
    revokedAt: null,
    revokedReason: null,
    rotatedFrom: null,
    replacedBy: null,
    metadata: {},
    access: null,
    rateLimits: null,
    quota: null,
    ipAllowlist: null,
    scopes: null,
    createdAt: at,
    updatedAt: at,
    lastUsedAt: null,
    ...overrides,
  };
}
export const makeAdminKey = (n: number): AdminKey => {
  const keyId = id('adminKey');
  return {
    id: keyId,
    name: `admin-${n}`,
    start: 'gka_live_abcd',
    hash: `admin-hash-${keyId}`,
    pepperId: 'p1',
    permissions: ['keys:read'],
    createdAt: T0,
    revokedAt: null,
  };
};
export const makeUser = (n: number): User => ({
  id: id('user'),
  username: `user${n}@example.com`,
  name: `User ${n}`,
  passwordHash: '$scrypt$x',
  roles: ['staff'],
  disabled: false,
  mfaRequired: false,
  totp: null,
  createdAt: T0,
  updatedAt: T0,
  lastLoginAt: null,
});
export const makeClient = (n: number): OAuthClient => ({
  id: id('client'),
  name: `client-${n}`,
  type: 'confidential',
  secretHash: `h${n}`,
  pepperId: 'p1',
  redirectUris: ['https://app.example/cb'],
  postLogoutRedirectUris: [],
  grantTypes: ['authorization_code'],
  scopes: ['read'],
  apiIds: [],
  firstParty: false,
  dpopBound: false,
  exchangeAppId: null,
  accessTokenTtlSeconds: null,
  disabled: false,
  createdAt: T0,
  updatedAt: T0,
});
export const makeSigningKey = (n: number): SigningKey => ({
  id: id('signingKey'),
  alg: 'ES256',
  publicJwk: { kty: 'EC', n },
  sealedPrivateJwk: `sealed-${n}`,
  activatesAt: T0,
  retiredAt: null,
  unpublishAt: null,
  createdAt: T0,
  updatedAt: T0,
});
export const audit = (action: string, targetType: AuditEntry['targetType'], targetId: string, after: unknown = null): AuditInput => ({
  actor: 'admin_key:adk_test',
  action,
  targetType,
  targetId,
  before: null,
  after,
  requestId: 'req-1',
});

/** Every audit entry matching the query, by following cursors with a small page size. */
export async function allAudit(store: Store, query: Omit<AuditQuery, 'limit'> = {}): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.audit.list({ ...query, limit: 2, cursor });
    entries.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return entries;
}

/** Stores a key of the app with its audit entry. */
export async function storeKey(store: Store, appId: string, overrides: Partial<ApiKey> = {}): Promise<ApiKey> {
  const key = makeKey(appId, overrides);
  await store.keys.create(key, audit('key.created', 'key', key.id));
  return key;
}

/** Every key id the query lists, by following cursors with a small page size. */
export async function allKeyIds(store: Store, query: Omit<KeyListQuery, 'limit' | 'now'> & { now?: number }): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.keys.list({ now: T0, ...query, limit: 2, cursor });
    ids.push(...page.items.map((k) => k.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

/** A request-log entry: a key's GET forwarded to the `orders` API at T0, with `overrides`. */
export const makeRequestLogEntry = (overrides: Partial<RequestLogEntry> = {}): RequestLogEntry => ({
  at: T0,
  requestId: `req-${++seq}`,
  traceId: null,
  apiId: 'api_1',
  api: 'orders',
  route: '/orders',
  method: 'GET',
  path: '/orders/items',
  query: null,
  status: 200,
  denialCode: null,
  durationMs: 1.5,
  upstreamMs: 1.25,
  bytesIn: 0,
  bytesOut: 120,
  keyId: 'key_1',
  appId: 'app_1',
  user: null,
  clientId: null,
  address: '192.0.2.1',
  userAgent: 'curl/8',
  ...overrides,
});
