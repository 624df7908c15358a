import { LRUCache } from 'lru-cache';

/**
 * An LRUCache made on its first `set`. lru-cache sets aside room for `max` entries when it is made
 * (2.7 MB for 100,000: two arrays and three typed arrays), which is what keeps its lookups fast; a
 * cache that a thread never writes should cost nothing: the token cache on a gateway with no bearer
 * routes, the introspection cache with no introspecting issuer, the main thread's gateway caches once
 * workers serve (issue 14, memory: about 10 MB per thread, bench/heap-by-thread.ts).
 */
export class LazyLru<K extends {}, V extends {}> {
  readonly #options: LRUCache.Options<K, V, unknown>;
  #cache: LRUCache<K, V> | null = null;

  constructor(options: LRUCache.Options<K, V, unknown>) {
    // Checked now, as lru-cache would: a bad bound is a start-up error, not one at the first write.
    if (!(Number.isInteger(options.max) && options.max! > 0)) throw new RangeError('a LazyLru needs a positive whole max');
    this.#options = options;
  }

  /** Whether the cache was made (something was written to it). */
  get made(): boolean {
    return this.#cache !== null;
  }

  get(key: K): V | undefined {
    return this.#cache === null ? undefined : this.#cache.get(key);
  }

  /** As `get`, without making the entry the most recently used. */
  peek(key: K): V | undefined {
    return this.#cache === null ? undefined : this.#cache.peek(key);
  }

  set(key: K, value: V): void {
    (this.#cache ??= new LRUCache(this.#options)).set(key, value);
  }

  delete(key: K): void {
    this.#cache?.delete(key);
  }

  clear(): void {
    this.#cache?.clear();
  }
}
