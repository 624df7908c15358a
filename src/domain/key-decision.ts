import { compileAccess, type CompiledAccess } from './access.ts';
import type { KeyCode } from './codes.ts';
import type { ApiKey, KeySettings, Policy, QuotaRule, RateLimitRule, WhenRedisUnavailable } from './entities.ts';
import { compileIpAllowlist, type IpAllowlist } from './ip-allowlist.ts';

/**
 * What a request's checks read of the key itself: everything else of an ApiKey (name, hash, metadata,
 * rotation links, timestamps) stays in the store. The verification cache holds one per hot key, so
 * the fewer fields the less memory (issue 14: 100k hot keys). Every field is required (absent ones
 * are undefined), so a literal that builds one must name them all.
 */
export type HotKey = Pick<ApiKey, 'id' | 'appId' | 'enabled' | 'expiresAt' | 'revokedAt'> & {
  [F in 'lineageId' | 'publishable' | 'allowedOrigins' | 'certificateThumbprint']-?: ApiKey[F] | undefined;
};

/** HotKey's fields, for comparing two readings of a key field by field. */
export const HOT_KEY_FIELDS = [
  'id',
  'appId',
  'enabled',
  'expiresAt',
  'revokedAt',
  'lineageId',
  'publishable',
  'allowedOrigins',
  'certificateThumbprint',
] as const satisfies readonly (keyof HotKey)[];
// Fails to compile when HotKey gains a field the list lacks.
const everyHotKeyField: [Exclude<keyof HotKey, (typeof HOT_KEY_FIELDS)[number]>] extends [never] ? true : never = true;
void everyHotKeyField;

/** A key's settings with its policy folded in and its matchers compiled; keys with equal settings share one. */
export interface CompiledSettings {
  access: CompiledAccess;
  ipAllowlist: IpAllowlist | null;
  rateLimits: readonly RateLimitRule[];
  quota: QuotaRule | null;
  scopes: ReadonlySet<string>;
}

/**
 * A key with its policy folded in and its matchers compiled. The settings are a reference to the copy
 * keys with equal settings share, not copied field by field; the verification cache's entry is one
 * of these with its own fields beside (verification/key-verifier.ts), one object per hot key.
 */
export interface CompiledKey extends HotKey {
  settings: CompiledSettings;
}

/**
 * Settings on the key win over its policy's, field by field. No access rule means no API. What
 * requests are checked against: the rotation rule is not (domain/rotation.ts effectiveRotation).
 */
export function effectiveSettings(key: KeySettings, policy: KeySettings | null): Required<Omit<KeySettings, 'rotation'>> {
  return {
    access: key.access ?? policy?.access ?? [],
    rateLimits: key.rateLimits ?? policy?.rateLimits ?? [],
    quota: key.quota ?? policy?.quota ?? null,
    ipAllowlist: key.ipAllowlist ?? policy?.ipAllowlist ?? null,
    scopes: key.scopes ?? policy?.scopes ?? [],
  };
}

/**
 * Compiles settings once per distinct value: keys of one policy, or made alike, share their access
 * matchers, allowlist, limits and scopes (compiled objects are immutable but for lazily built
 * case-folded patterns, which are the same whoever builds them). Remembers at most `max` distinct
 * settings; past that it starts over, which costs only compilation.
 */
export class SettingsCompiler {
  readonly #max: number;
  #seen = new Map<string, CompiledSettings>();

  constructor(max = 10_000) {
    this.#max = max;
  }

  compile(settings: Required<Omit<KeySettings, 'rotation'>>): CompiledSettings {
    const id = JSON.stringify([settings.access, settings.ipAllowlist, settings.rateLimits, settings.quota, settings.scopes]);
    let compiled = this.#seen.get(id);
    if (compiled === undefined) {
      if (this.#seen.size >= this.#max) this.#seen = new Map();
      compiled = {
        access: compileAccess(settings.access ?? []),
        ipAllowlist: settings.ipAllowlist ? compileIpAllowlist(settings.ipAllowlist) : null,
        rateLimits: settings.rateLimits ?? [],
        quota: settings.quota,
        scopes: new Set(settings.scopes ?? []),
      };
      this.#seen.set(id, compiled);
    }
    return compiled;
  }
}

/** What a compiled key is built from: HotKey's fields of an ApiKey (the rest of it can be collected). */
export type HotKeySource = Pick<ApiKey, (typeof HOT_KEY_FIELDS)[number]>;

/** A key's fields and its settings, compiled once for its life in a cache. */
export function compileKey(key: ApiKey, policy: Policy | null, compiler: SettingsCompiler = new SettingsCompiler(1)): CompiledKey {
  return new CompiledKeyRecord(key, compileSettings(key, policy, compiler));
}

/**
 * A compiled key as one object, copying only HotKey's fields from `key`. A holder with fields of its
 * own (the verification cache's lifetimes) extends it: a class, because V8 then sizes each instance
 * for every field the constructors assign, all inside the object. Spreading a holder's fields into a
 * literal left ten of fifteen in a separate property array (issue 14: 32 bytes more per hot key).
 */
export class CompiledKeyRecord implements CompiledKey {
  readonly id: HotKey['id'];
  readonly appId: HotKey['appId'];
  readonly enabled: HotKey['enabled'];
  readonly expiresAt: HotKey['expiresAt'];
  readonly revokedAt: HotKey['revokedAt'];
  readonly lineageId: HotKey['lineageId'];
  readonly publishable: HotKey['publishable'];
  readonly allowedOrigins: HotKey['allowedOrigins'];
  readonly certificateThumbprint: HotKey['certificateThumbprint'];
  readonly settings: CompiledSettings;

  constructor(key: HotKeySource, settings: CompiledSettings) {
    this.id = key.id;
    this.appId = key.appId;
    this.enabled = key.enabled;
    this.expiresAt = key.expiresAt;
    this.revokedAt = key.revokedAt;
    this.lineageId = key.lineageId;
    this.publishable = key.publishable;
    this.allowedOrigins = key.allowedOrigins;
    this.certificateThumbprint = key.certificateThumbprint ?? undefined;
    this.settings = settings;
  }
}

/** A key's settings, its policy's folded in, compiled (shared with every key of equal settings). */
export function compileSettings(key: ApiKey, policy: Policy | null, compiler: SettingsCompiler): CompiledSettings {
  return compiler.compile(effectiveSettings(key, policy));
}

export interface RequestFacts {
  /** Absent when a caller of the verify endpoint checks a key without naming an API. */
  apiId?: string;
  method?: string;
  /** Canonical (domain/canonical-path.ts), below the API's listen path. */
  path?: string;
  /** The API matches paths without regard to case (its `pathCase`). */
  caseInsensitivePath?: boolean;
  ip?: string;
  requiredScopes?: readonly string[];
  /** Whether this route takes publishable keys; absent: not known to the caller (verify endpoint). */
  publishableRoute?: boolean;
  /** The browser origin (Origin, else Referer's origin) the request came from; null: none. */
  origin?: string | null;
  /** The verified client certificate's SHA-256 thumbprint (null: none); absent: not known to the caller. */
  certificateThumbprint?: string | null;
  /** The API's whenRedisUnavailable, for a shared limiter that cannot answer; absent: the deployment's. */
  whenRedisUnavailable?: WhenRedisUnavailable;
}

/** Whether the key may be used at all, whatever the request: revoked, disabled, expired (a rotated key's grace end is its expiry). */
export function keyStanding(key: Pick<ApiKey, 'revokedAt' | 'enabled' | 'expiresAt'>, now: number): 'VALID' | 'REVOKED' | 'DISABLED' | 'EXPIRED' {
  if (key.revokedAt !== null && key.revokedAt <= now) return 'REVOKED';
  if (!key.enabled) return 'DISABLED';
  if (key.expiresAt !== null && key.expiresAt <= now) return 'EXPIRED';
  return 'VALID';
}

/** What the checks without counters can say about a key that was found: never MALFORMED or NOT_FOUND, never a limit. */
export type KeyCheckCode = Exclude<KeyCode, 'MALFORMED' | 'NOT_FOUND' | 'RATE_LIMITED' | 'QUOTA_EXCEEDED'>;

/** Every check that needs no counter, in the order the caller learns about them. */
export function checkKey(key: CompiledKey, facts: RequestFacts, now: number): KeyCheckCode {
  const { settings } = key;
  const standing = keyStanding(key, now);
  if (standing !== 'VALID') return standing;
  // A publishable key unlocks only publishable routes, and only from its own origins.
  if (key.publishable && facts.publishableRoute === false) return 'FORBIDDEN';
  if (key.publishable && facts.origin !== undefined && (facts.origin === null || !(key.allowedOrigins ?? []).includes(facts.origin))) return 'FORBIDDEN';
  if (facts.apiId !== undefined && !settings.access.allows(facts.apiId, facts.method, facts.path, facts.caseInsensitivePath)) {
    return 'FORBIDDEN';
  }
  if (settings.ipAllowlist && (facts.ip === undefined || !settings.ipAllowlist.allows(facts.ip))) return 'FORBIDDEN';
  // RFC 8705 §3 in spirit: a key bound to a certificate is worth nothing without that certificate.
  const bound = key.certificateThumbprint;
  if (bound && facts.certificateThumbprint !== undefined && facts.certificateThumbprint !== bound) return 'FORBIDDEN';
  // A loop, not `some` with a closure: this runs on every request with a key.
  const required = facts.requiredScopes;
  if (required) for (const scope of required) if (!settings.scopes.has(scope)) return 'INSUFFICIENT_SCOPE';
  return 'VALID';
}
