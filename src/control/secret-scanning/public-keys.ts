import { createPublicKey, type KeyObject } from 'node:crypto';

/** GitHub's answer at https://api.github.com/meta/public_keys/secret_scanning. */
interface PublishedKeys {
  public_keys?: { key_identifier?: unknown; key?: unknown }[];
}

/** How soon an identifier not in the cached set may fetch the set again: unknown identifiers in forged reports cannot make us fetch per request. */
const MIN_REFETCH_MS = 60_000;

/**
 * The public keys a code host signs its reports with, by identifier: the configured ones, and when a
 * URL is configured, the set published there, fetched when a report names an identifier not known
 * and kept for `cacheMs` (a key rotation on the host's side is picked up by the first report signed
 * with the new key, at most once a minute).
 */
export class SigningKeySet {
  readonly #configured: ReadonlyMap<string, KeyObject>;
  readonly #url: string | null;
  readonly #cacheMs: number;
  readonly #clock: () => number;
  #fetched = new Map<string, KeyObject>();
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<void> | null = null;
  /** The last fetch's failure, until one succeeds: answered again without fetching for a minute. */
  #lastError: Error | null = null;
  readonly #onRefreshFailed: (error: unknown) => void;

  constructor(o: {
    configured: readonly { identifier: string; pem: string }[];
    url: string | null;
    cacheMs: number;
    clock: () => number;
    /** A refresh failed while the stale set still held the key asked for: reported, and the stale key used. */
    onRefreshFailed?: (error: unknown) => void;
  }) {
    this.#onRefreshFailed = o.onRefreshFailed ?? (() => {});
    this.#configured = new Map(o.configured.map((k) => [k.identifier, createPublicKey(k.pem)]));
    this.#url = o.url;
    this.#cacheMs = o.cacheMs;
    this.#clock = o.clock;
  }

  /**
   * The key named, or null when neither configured nor published. A failed fetch rejects (the report
   * is answered 502, to be sent again), unless the key is in the set fetched before: code hosts
   * publish a new key before signing with it, so a stale set still holds every key in use but the newest.
   */
  async get(identifier: string): Promise<KeyObject | null> {
    const configured = this.#configured.get(identifier);
    if (configured || !this.#url) return configured ?? null;
    const now = this.#clock();
    const known = this.#fetched.has(identifier);
    const stale = now - this.#fetchedAt > this.#cacheMs;
    const due = now - this.#attemptedAt > MIN_REFETCH_MS;
    if ((stale || !known) && due) {
      try {
        await this.#refresh();
      } catch (error) {
        if (!known) throw error;
        this.#onRefreshFailed(error);
      }
    } else if (!known && this.#lastError) throw this.#lastError;
    return this.#fetched.get(identifier) ?? null;
  }

  #refresh(): Promise<void> {
    this.#inFlight ??= this.#load().finally(() => (this.#inFlight = null));
    return this.#inFlight;
  }

  async #load(): Promise<void> {
    this.#attemptedAt = this.#clock();
    try {
      await this.#fetchKeys();
      this.#lastError = null;
    } catch (error) {
      this.#lastError = error instanceof Error ? error : new Error(String(error));
      throw this.#lastError;
    }
  }

  async #fetchKeys(): Promise<void> {
    const res = await fetch(this.#url!, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`fetching the secret-scanning public keys from ${this.#url} answered HTTP ${res.status}`);
    const body = (await res.json()) as PublishedKeys;
    const keys = new Map<string, KeyObject>();
    for (const k of body.public_keys ?? []) {
      if (typeof k.key_identifier !== 'string' || typeof k.key !== 'string') continue;
      const key = createPublicKey(k.key);
      if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') keys.set(k.key_identifier, key);
    }
    this.#fetched = keys;
    this.#fetchedAt = this.#clock();
  }
}
