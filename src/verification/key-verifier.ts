import type { KeyCode } from '../domain/codes.ts';
import { findBySecret, fingerprint, type Pepper } from '../domain/key-hash.ts';
import {
  checkKey,
  CompiledKeyRecord,
  compileSettings,
  HOT_KEY_FIELDS,
  keyStanding,
  SettingsCompiler,
  type CompiledKey,
  type CompiledSettings,
  type HotKey,
  type HotKeySource,
  type RequestFacts,
} from '../domain/key-decision.ts';
import { isWellFormedKey, keyLength } from '../domain/key-format.ts';
import { periodWindow, type PeriodWindow } from '../domain/quota-period.ts';
import { LazyLru } from '../domain/lazy-lru.ts';
import { SharedStrings } from '../domain/shared-strings.ts';
import type { ChangeBus } from '../events/change-bus.ts';
import type { LimitCheck, LimitResult, LimitState, Limiter } from '../limits/port.ts';
import { lineageOf, type ApiKey, type Policy } from '../domain/entities.ts';
import { StorageUnavailableError, type Store } from '../store/port.ts';
import type { QuotaUse, UsageMeter } from '../usage/port.ts';
import { andThen } from '../domain/maybe-async.ts';
import type { HealthReporter } from '../telemetry/health.ts';
import type { KeyChecker, RefusedKey, UnknownKey, Verification, VerifiedKey } from './port.ts';
import type { VerificationObserver } from './verification-observer.ts';
import { KeyLimitChecks, quotaCheckOf } from './key-limit-checks.ts';

export interface KeyVerifierOptions {
  store: Store;
  limiter: Limiter;
  usage: Pick<UsageMeter, 'hit'>;
  changes: ChangeBus;
  /** The first pepper hashes new keys; the rest still find keys hashed before a rotation. */
  peppers: readonly Pepper[];
  cacheSize: number;
  /**
   * Bounds how stale an entry may be when a change happened outside this node. Each entry lives a
   * random 80-100% of it, so keys read together are not all read again together.
   */
  cacheTtlMs: number;
  /** How long an unknown (well-formed) key is remembered as unknown. */
  negativeTtlMs: number;
  clock?: () => number;
  /** Cache lookups and verdicts, for metrics. */
  observer?: VerificationObserver | null;
  /**
   * Where refreshes ahead of expiry report (component `key-cache-refresh`, non-critical). Without
   * one, entries are not refreshed ahead: they expire and the next request reads them again.
   */
  health?: HealthReporter | null;
  /** The jitter's source, [0, 1): tests pin it. */
  random?: () => number;
  /**
   * Degraded mode: while the store cannot be reached, an entry past its lifetime keeps answering for
   * at most this long after it expired (cache.serveStaleSeconds; 0 or absent: never).
   */
  serveStaleMs?: number;
}

export const KEY_CACHE_REFRESH = 'key-cache-refresh';
/** An entry lives (1 - TTL_JITTER * random) of cacheTtl: only shorter, so cacheTtl still bounds staleness. */
const TTL_JITTER = 0.2;
/** Past this part of its lifetime, a request served from the entry starts a refresh in the background. */
const REFRESH_AHEAD = 0.8;
/** After a refresh failed, the next one starts no sooner (the entry keeps answering until it expires). */
const REFRESH_RETRY_MS = 1000;
/**
 * Keys due for a refresh are read together, this many in one store read (KeyRepo.getByIds): with
 * SQLite a read transaction of its own cost each key more than finding it, with PostgreSQL a round
 * trip. Small enough that rebuilding a batch's entries is a short task on the event loop.
 */
const REFRESH_BATCH = 100;
const API_KEY_LENGTH = keyLength('api');
const PUBLISHABLE_KEY_LENGTH = keyLength('publishable');

/**
 * A found key: the key's fields, a reference to its (shared) compiled settings, and the cache's own
 * fields, in one object with every field inside it (issue 14: an object per hot key fewer, 32 bytes
 * each; a class, so none in a separate property array: CompiledKeyRecord).
 */
class FoundEntry extends CompiledKeyRecord {
  readonly found = true;
  /** Bounds staleness for changes made outside this node (clock time, checked on use). */
  cachedUntil: number;
  /** From then on, a request served from this entry refreshes it in the background (one read at a time). */
  refreshAt: number;
  /**
   * The key's limit checks (KeyLimitChecks): its rate limits, then, from the first request of a quota
   * period (and again in the next), its quota's, which is also the quota use that request counts
   * (QuotaUse). Shared with every key of equal settings, unless this one's quota use was seeded.
   */
  checks: readonly LimitCheck[];
  /** The quota use the store had when the key was read, until the checks of its period are made with it. */
  quotaSeed: { period: string; used: number } | null;
  /** The number of the store read this entry comes from (KeyVerifier#keep: an older read never replaces it). */
  read = 0;

  constructor(
    key: HotKeySource,
    settings: CompiledSettings,
    cachedUntil: number,
    refreshAt: number,
    checks: readonly LimitCheck[],
    quotaSeed: FoundEntry['quotaSeed'],
  ) {
    super(key, settings);
    this.cachedUntil = cachedUntil;
    this.refreshAt = refreshAt;
    this.checks = checks;
    this.quotaSeed = quotaSeed;
  }
}
type CacheEntry = FoundEntry | { found: false; cachedUntil: number; read: number };
/** Reads a key for a slot, given the entry found there now (undefined: none, or an unknown key's). */
type Read = (current: FoundEntry | undefined) => Promise<CacheEntry>;

/**
 * The subject of a key's limiter calls (limits/port.ts): its lineage's id, a string the cached key
 * already holds, so a key and the keys rotated from it share one budget. Ids carry their kind
 * (`key_…`), so no other subject (an API's `api:…`) can be the same.
 */
const subjectOf = (key: HotKey): string => lineageOf(key);

/**
 * Cache slot of a key looked up by id (the parent of an exchanged token) rather than by its secret;
 * `:` never occurs in a base64url fingerprint, so the two kinds of slot cannot collide.
 */
const idSlot = (keyId: string): string => `id:${keyId}`;
const isIdSlot = (slot: string): boolean => slot.startsWith('id:');

/**
 * Verifies API keys for the gateway and for POST /admin/v1/keys/verify alike, so both apply the same
 * rules and limits. Hot path: a length check, one SHA-256 fingerprint, one cache lookup, the checks,
 * the limiter. The checksum, the HMAC and the store read happen only on a miss; concurrent misses for
 * one key share one read.
 * A key can also be looked up by id, for the tokens exchanged from it: same cache, same invalidation,
 * same checks and limiter counters, so a key and its tokens are one credential with one budget.
 */
export class KeyVerifier implements KeyChecker {
  readonly #options: KeyVerifierOptions;
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #cache: LazyLru<string, CacheEntry>;
  /**
   * Reads in flight by slot, each with the generation it started in: a request joins one only while
   * no change has arrived since, so what it is answered with was read after every change it follows.
   */
  readonly #loading = new Map<string, { generation: number; read: Promise<CacheEntry> }>();
  /** Slots due for a refresh ahead, with their key's id, until the next batch takes them. */
  readonly #due = new Map<string, string>();
  #refreshScheduled = false;
  /** Key id to cache slot (the secret's fingerprint), so a change to a key can drop it; id slots need no entry here. */
  readonly #slotByKeyId = new Map<string, string>();
  /** Keys with equal settings (one policy's, say) share their compiled matchers and limits. */
  readonly #settings = new SettingsCompiler();
  readonly #limitChecks = new KeyLimitChecks();
  /** Keys of one app hold one copy of its id. */
  readonly #appIds = new SharedStrings(10_000);
  #generation = 0;
  /** Numbers store reads in the order they begin, so the cache keeps the latest a slot's reads found. */
  #reads = 0;
  /** The last store read failed for want of the store (StorageUnavailableError); the next that succeeds clears it. */
  #storeUnreachable = false;
  readonly #observer: VerificationObserver | null;
  /** Reports a verdict and passes it on (one call on the cached path; no closure per request). */
  readonly #reported = (v: Verification): Verification => {
    this.#observer!.keyVerified(v.code);
    return v;
  };

  constructor(options: KeyVerifierOptions) {
    if (options.peppers.length === 0) throw new Error('KeyVerifier needs at least one pepper');
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    options.health?.register(KEY_CACHE_REFRESH, false);
    this.#observer = options.observer ?? null;
    // Expiry is checked against the injected clock on use, not by lru-cache's TTL, which would read
    // performance.now() and arm a timer as the request path runs.
    this.#cache = new LazyLru({
      max: options.cacheSize,
      dispose: (entry, slot) => {
        if (entry.found && this.#slotByKeyId.get(entry.id) === slot) this.#slotByKeyId.delete(entry.id);
      },
    });
    options.changes.subscribe((event) => {
      if (event.type === 'key.changed') {
        this.#generation++;
        const slot = this.#slotByKeyId.get(event.keyId);
        if (slot !== undefined) this.#cache.delete(slot);
        this.#cache.delete(idSlot(event.keyId));
      } else if (event.type === 'policy.changed') {
        this.#generation++;
        this.#cache.clear();
      }
    });
  }

  /**
   * `consume: false` is a check, not a use: every rule and limit is decided as for a request, but no
   * rate limit, quota or usage is counted (the verify endpoint's `consume: false`, the CLI's default).
   * Synchronous when the key is cached and the limiter answers at once (the in-memory one does), so
   * the common request allocates no promise; a Promise only on a cache miss or an async limiter.
   */
  verify(secret: string, facts: RequestFacts, consume = true): Verification | Promise<Verification> {
    const v = this.#verify(secret, facts, consume);
    return this.#observer === null ? v : andThen(v, this.#reported);
  }

  #verify(secret: string, facts: RequestFacts, consume: boolean): Verification | Promise<Verification> {
    // Only a secret of one of our keys' lengths is hashed: anything else costs a comparison.
    if (secret.length !== API_KEY_LENGTH && secret.length !== PUBLISHABLE_KEY_LENGTH) return unknown('MALFORMED');
    const slot = fingerprint(secret);
    const entry = this.#cache.get(slot);
    const now = this.#clock();
    if (entry !== undefined && entry.cachedUntil > now) {
      this.#observer?.keyCache(true);
      if (entry.found && now >= entry.refreshAt) this.#refreshAhead(slot, entry, now);
      return this.#decide(entry, facts, now, consume);
    }
    // An expired entry of a found key: this secret matched that key's hash, and a key's id and secret
    // never part, so the key is read again by its id (no checksum, no HMAC per pepper: 16 of a miss's
    // 100 µs, bench/key-miss.ts). Else the checksum first: a secret is cached only after it passed.
    const knownId = entry?.found ? entry.id : null;
    if (knownId === null && !isWellFormedKey(secret, 'api') && !isWellFormedKey(secret, 'publishable')) return unknown('MALFORMED');
    this.#observer?.keyCache(false);
    const read =
      knownId === null
        ? (current: FoundEntry | undefined) => this.#read(secret, current)
        : (current: FoundEntry | undefined) => this.#readById(knownId, current);
    const stale = this.#staleEntry(entry, now);
    // Known unreachable: answer from the expired entry at once, and read again in the background.
    if (stale && this.#storeUnreachable) {
      if (now >= stale.refreshAt) this.#refreshAhead(slot, stale, now);
      return this.#decide(stale, facts, now, consume);
    }
    return this.#load(slot, read).then(
      (loaded) => this.#decide(loaded, facts, this.#clock(), consume),
      (error: unknown) =>
        this.#orStale(
          error,
          () => this.#staleEntry(this.#cache.peek(slot), this.#clock()),
          (e) => this.#decide(e, facts, this.#clock(), consume),
        ),
    );
  }

  /**
   * An expired entry that may still answer while the store is unreachable: found (an unknown key is
   * never served stale), within cache.serveStaleSeconds of its expiry, and still in the cache (a
   * change seen on the change feed, a revocation, deleted it: that always wins).
   */
  #staleEntry(entry: CacheEntry | undefined, now: number): FoundEntry | null {
    const limit = this.#options.serveStaleMs ?? 0;
    if (limit <= 0 || entry === undefined || !entry.found) return null;
    return now - entry.cachedUntil <= limit ? entry : null;
  }

  /**
   * After a failed read: the answer of the stale entry as it is now, when the store is what failed,
   * else the failure. Looked up again, not the one seen when the read began: a change that arrived
   * while it was in flight deleted that one, and the change wins.
   */
  #orStale<T>(error: unknown, staleNow: () => FoundEntry | null, answer: (entry: FoundEntry) => T): T {
    const stale = error instanceof StorageUnavailableError ? staleNow() : null;
    if (stale) return answer(stale);
    throw error;
  }

  /**
   * The key with this id, checked against this request and counted exactly as `verify` would: for a
   * token exchanged from the key (RFC 8693), whose every request is the key's. No store read while
   * the key is cached (by its secret or by id); a change to the key drops both at once.
   */
  verifyById(keyId: string, facts: RequestFacts): Verification | Promise<Verification> {
    const now = this.#clock();
    const entry = this.#cachedById(keyId, now);
    this.#observer?.keyCache(entry !== undefined);
    // An entry cached by id refreshes by id; one cached by its secret is refreshed by its secret's requests.
    if (entry?.found && now >= entry.refreshAt && this.#cache.get(idSlot(keyId)) === entry) {
      this.#refreshAhead(idSlot(keyId), entry, now);
    }
    const stale = entry ? null : this.#staleById(keyId, now);
    if (stale && this.#storeUnreachable && now >= stale.refreshAt) this.#refreshAhead(idSlot(keyId), stale, now);
    const v = entry
      ? this.#decide(entry, facts, now, true)
      : stale && this.#storeUnreachable
        ? this.#decide(stale, facts, now, true)
        : this.#loadById(keyId).then(
            (loaded) => this.#decide(loaded, facts, this.#clock(), true),
            (error: unknown) =>
              this.#orStale(
                error,
                () => this.#staleById(keyId, this.#clock()),
                (e) => this.#decide(e, facts, this.#clock(), true),
              ),
          );
    return this.#observer === null ? v : andThen(v, this.#reported);
  }

  /** Whether the key with this id may be used at all (revoked, disabled, expired, gone), counting nothing: for introspection of its tokens. */
  standingById(keyId: string): KeyCode | Promise<KeyCode> {
    const standing = (entry: CacheEntry): KeyCode => (entry.found ? keyStanding(entry, this.#clock()) : 'NOT_FOUND');
    const entry = this.#cachedById(keyId, this.#clock());
    return entry ? standing(entry) : this.#loadById(keyId).then(standing);
  }

  #cachedById(keyId: string, now: number): CacheEntry | undefined {
    const slot = this.#slotByKeyId.get(keyId);
    const bySecret = slot === undefined ? undefined : this.#cache.get(slot);
    if (bySecret?.found && bySecret.id === keyId && bySecret.cachedUntil > now) return bySecret;
    const byId = this.#cache.get(idSlot(keyId));
    return byId && byId.cachedUntil > now ? byId : undefined;
  }

  /** The expired entry for this key id (by its secret, else by id) that may answer while the store is unreachable. */
  #staleById(keyId: string, now: number): FoundEntry | null {
    const slot = this.#slotByKeyId.get(keyId);
    const bySecret = slot === undefined ? undefined : this.#cache.get(slot);
    if (bySecret?.found && bySecret.id === keyId) return this.#staleEntry(bySecret, now);
    return this.#staleEntry(this.#cache.get(idSlot(keyId)), now);
  }

  #loadById(keyId: string): Promise<CacheEntry> {
    return this.#load(idSlot(keyId), (current) => this.#readById(keyId, current));
  }

  async #readById(keyId: string, current: FoundEntry | undefined): Promise<CacheEntry> {
    const key = await this.#options.store.keys.get(keyId);
    return key ? this.#entry(key, current) : this.#unknownEntry();
  }

  /**
   * Reads a key again while its entry still answers, so a key in use never misses the cache and keys
   * read together (at start, after a policy change) are read again apart. Due slots wait for the next
   * turn of the event loop and are read in batches by key id (a key's id and secret never part, so
   * this finds what its secret would). A read's result replaces the entry unless a change arrived
   * meanwhile. A failed read is reported to health; the entry still answers, never past its expiry,
   * after which a request reads the key itself and sees the failure.
   */
  #refreshAhead(slot: string, entry: FoundEntry, now: number): void {
    if (!this.#options.health || this.#loading.has(slot) || this.#due.has(slot)) return;
    entry.refreshAt = now + REFRESH_RETRY_MS;
    this.#due.set(slot, entry.id);
    if (!this.#refreshScheduled) ((this.#refreshScheduled = true), setImmediate(this.#refreshDue));
  }

  /** Takes a batch of the due slots and refreshes it; the rest wait for the next turn. */
  readonly #refreshDue = (): void => {
    this.#refreshScheduled = false;
    const batch = new Map<string, string>();
    for (const [slot, keyId] of this.#due) {
      this.#due.delete(slot);
      batch.set(slot, keyId);
      if (batch.size === REFRESH_BATCH) break;
    }
    if (this.#due.size > 0) ((this.#refreshScheduled = true), setImmediate(this.#refreshDue));
    void this.#options.health!.run(KEY_CACHE_REFRESH, () => this.#refresh(batch));
  };

  async #refresh(batch: ReadonlyMap<string, string>): Promise<void> {
    const generation = this.#generation;
    const read = ++this.#reads;
    let keys: ApiKey[];
    try {
      keys = await this.#options.store.keys.getByIds([...new Set(batch.values())]);
    } catch (error) {
      if (error instanceof StorageUnavailableError) this.#storeUnreachable = true;
      throw error;
    }
    this.#storeUnreachable = false;
    const byId = new Map(keys.map((key) => [key.id, key]));
    // Keys of one policy read it once per batch.
    const policies = new Map<string, Promise<Policy | null>>();
    const policyOf = (id: string): Promise<Policy | null> => {
      let policy = policies.get(id);
      if (!policy) policies.set(id, (policy = this.#options.store.policies.get(id)));
      return policy;
    };
    for (const [slot, keyId] of batch) {
      const current = this.#cache.peek(slot);
      const key = byId.get(keyId);
      const entry = key ? await this.#entry(key, current?.found ? current : undefined, policyOf) : this.#unknownEntry();
      this.#keep(slot, entry, generation, read);
    }
  }

  #decide(entry: CacheEntry, facts: RequestFacts, now: number, consume: boolean): Verification | Promise<Verification> {
    if (!entry.found) return unknown('NOT_FOUND');
    const code = checkKey(entry, facts, now);
    if (code !== 'VALID') return refused(entry, code, NO_LIMITS, 0);
    const { quota } = entry.settings;
    const quotaWindow = quota ? periodWindow(quota.period, now) : null;
    if (entry.checks.length === 0 && quotaWindow === null) {
      if (consume) this.#options.usage.hit(entry, now, null, facts.ip ?? null);
      return verified(entry, NO_LIMITS);
    }
    const checks = quotaWindow === null ? entry.checks : this.#periodChecks(entry, quotaWindow);
    const quotaUse = quotaWindow === null ? null : quotaCheckOf(checks);
    const { limiter } = this.#options;
    const result = consume
      ? limiter.consume(subjectOf(entry), checks, now, facts.whenRedisUnavailable)
      : limiter.peek(subjectOf(entry), checks, now, facts.whenRedisUnavailable);
    // Not domain/maybe-async.ts's andThen: four values go on to the continuation, and packing them
    // would allocate on every request; the closure here is made only when the limiter is async.
    return result instanceof Promise
      ? result.then((r) => this.#afterLimits(entry, r, now, quotaUse, consume, facts.ip))
      : this.#afterLimits(entry, result, now, quotaUse, consume, facts.ip);
  }

  #afterLimits(compiled: CompiledKey, result: LimitResult, now: number, quotaUse: QuotaUse | null, consume: boolean, from: string | undefined): Verification {
    if (!result.allowed) return refused(compiled, result.deniedBy === 'quota' ? 'QUOTA_EXCEEDED' : 'RATE_LIMITED', result.states, result.retryAfterMs);
    if (consume) this.#options.usage.hit(compiled, now, quotaUse, from ?? null);
    return verified(compiled, result.states);
  }

  /** The checks of a key with a quota in this period, its quota check last: looked up once per period while the entry is cached. */
  #periodChecks(entry: FoundEntry, window: PeriodWindow): readonly LimitCheck[] {
    const last = entry.checks.at(-1);
    if (last?.kind === 'quota' && last.window.id === window.id) return entry.checks;
    const seed = entry.quotaSeed?.period === window.id ? entry.quotaSeed.used : 0;
    // The seed is in the check now (and a later period starts from the limiter's count): nothing reads it again.
    entry.quotaSeed = null;
    entry.checks = this.#limitChecks.forPeriod(entry.settings, window, seed);
    return entry.checks;
  }

  /**
   * Caches what a read found for a slot, unless a change arrived while it was in flight (`generation`
   * is the one it started in): then it may be stale, and is not kept. A read that finds the key as it
   * was keeps the entry (and its checks for this quota period), only living longer: replacing it would
   * make every key in use a new set of long-lived objects once per lifetime, which the young
   * generation must then move. A secret's slot is recorded by key id, so a change can find it.
   * Nor is it kept over an entry from a read begun after it (`read` numbers them): a refresh and a
   * request's read of one key can be in flight at once, and a change made elsewhere (no event, so no
   * new generation) between them must not be undone by the older one finishing last.
   */
  #keep(slot: string, entry: CacheEntry, generation: number, read: number): CacheEntry {
    if (generation !== this.#generation) return entry;
    const kept = this.#cache.peek(slot);
    if (kept !== undefined && kept.read > read) return entry;
    if (kept?.found && entry.found && kept.settings === entry.settings && sameHotKey(kept, entry)) {
      kept.cachedUntil = entry.cachedUntil;
      kept.refreshAt = entry.refreshAt;
      kept.read = read;
      return kept;
    }
    entry.read = read;
    this.#cache.set(slot, entry);
    if (entry.found && !isIdSlot(slot)) this.#slotByKeyId.set(entry.id, slot);
    return entry;
  }

  #load(slot: string, read: Read): Promise<CacheEntry> {
    const joined = this.#loading.get(slot);
    const generation = this.#generation;
    if (joined !== undefined && joined.generation === generation) return joined.read;
    const begun = ++this.#reads;
    const current = this.#cache.peek(slot);
    // A read begun before a change stays with the requests that joined it then; it leaves the map
    // only if this one has not taken its place.
    const done = (): void => void (this.#loading.get(slot) === loading && this.#loading.delete(slot));
    const loading = {
      generation,
      read: read(current?.found ? current : undefined).then(
        (entry) => {
          done();
          this.#storeUnreachable = false;
          return this.#keep(slot, entry, generation, begun);
        },
        (error: unknown) => {
          done();
          if (error instanceof StorageUnavailableError) this.#storeUnreachable = true;
          throw error;
        },
      ),
    };
    this.#loading.set(slot, loading);
    return loading.read;
  }

  async #read(secret: string, current: FoundEntry | undefined): Promise<CacheEntry> {
    const { store, peppers } = this.#options;
    const key = await findBySecret(secret, peppers, (hash) => store.keys.findByHash(hash));
    return key ? this.#entry(key, current) : this.#unknownEntry();
  }

  /** What the cache remembers of a key the store does not have, for negativeTtl. */
  #unknownEntry(): CacheEntry {
    return { found: false, cachedUntil: this.#clock() + this.#options.negativeTtlMs, read: 0 };
  }

  /**
   * A found key as the cache holds it: policy folded in, matchers compiled, limit checks built, quota
   * use so far. `current`: the entry cached for it now; when the key is as it was, the new entry takes
   * its checks and quota use (#load keeps `current`, only living longer), so a refresh builds no checks
   * and reads no quota use, which was half of what it cost.
   */
  async #entry(key: ApiKey, current: FoundEntry | undefined, policyOf = (id: string) => this.#options.store.policies.get(id)): Promise<FoundEntry> {
    const { store } = this.#options;
    const policy = key.policyId ? await policyOf(key.policyId) : null;
    const settings = compileSettings(key, policy, this.#settings);
    const now = this.#clock();
    const lifetime = this.#options.cacheTtlMs * (1 - TTL_JITTER * this.#random());
    const cachedUntil = now + lifetime;
    const refreshAt = now + lifetime * REFRESH_AHEAD;
    if (current !== undefined && current.settings === settings && sameHotKey(current, key)) {
      return new FoundEntry(current, settings, cachedUntil, refreshAt, current.checks, current.quotaSeed);
    }
    const checks = this.#limitChecks.rate(settings);
    const period = settings.quota ? periodWindow(settings.quota.period, now).id : null;
    const quotaSeed = period === null ? null : { period, used: await store.usage.quotaUsed(lineageOf(key), period) };
    return new FoundEntry({ ...key, appId: this.#appIds.of(key.appId) }, settings, cachedUntil, refreshAt, checks, quotaSeed);
  }
}

const NO_LIMITS: readonly LimitState[] = [];

/**
 * Whether a new reading of a key decides every request as the cached one does, settings aside (the
 * caller compares those by identity: SettingsCompiler hands out one object per distinct value; after
 * it starts over, equal settings compare unequal and the entry is replaced, which only costs a new
 * one). Field by field over HotKey's list (an array by its elements), so a field added to HotKey is
 * compared too; absent, undefined and null are alike.
 */
function sameHotKey(cached: HotKey, read: HotKeySource): boolean {
  for (const field of HOT_KEY_FIELDS) {
    const x = cached[field] ?? undefined;
    const y = read[field] ?? undefined;
    if (x !== y && !(Array.isArray(x) && Array.isArray(y) && x.join(' ') === y.join(' '))) return false;
  }
  return true;
}

function verified(key: CompiledKey, limits: readonly LimitState[]): VerifiedKey {
  return { valid: true, code: 'VALID', keyId: key.id, appId: key.appId, expiresAt: key.expiresAt, scopes: key.settings.scopes, limits };
}

function refused(key: CompiledKey, code: RefusedKey['code'], limits: readonly LimitState[], retryAfterMs: number): RefusedKey {
  return { valid: false, code, keyId: key.id, appId: key.appId, expiresAt: key.expiresAt, limits, retryAfterMs };
}

function unknown(code: UnknownKey['code']): UnknownKey {
  return { valid: false, code, keyId: null, appId: null, expiresAt: null, limits: NO_LIMITS, retryAfterMs: 0 };
}
