// Its module alone, not undici's root (src/types/undici-pool.d.ts says why).
import Pool from 'undici/lib/dispatcher/pool.js';

/** One keep-alive connection pool per upstream origin (undici), kept across route-table rebuilds. */
export class Upstreams {
  readonly #pools = new Map<string, Pool>();
  readonly #connections: number;
  readonly #onCloseError: (error: unknown) => void;

  constructor(onCloseError: (error: unknown) => void, connectionsPerOrigin = 128) {
    this.#onCloseError = onCloseError;
    this.#connections = connectionsPerOrigin;
  }

  pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: this.#connections, keepAliveTimeout: 10_000, pipelining: 1 });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /** Closes pools no route uses any more. */
  retain(origins: Set<string>): void {
    for (const [origin, pool] of this.#pools) {
      if (!origins.has(origin)) {
        this.#pools.delete(origin);
        pool.close().catch(this.#onCloseError);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close().catch(this.#onCloseError)));
    this.#pools.clear();
  }
}
