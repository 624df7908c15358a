import type { Config } from '../config/load.ts';
import type { HealthReporter } from '../telemetry/health.ts';
import type { Store } from './port.ts';

export interface OpenedStore {
  store: Store;
  /**
   * SQLite: the file the writer and reader threads open their own connections to (null in memory).
   * PostgreSQL: null; its statements are network I/O that never blocks the event loop, so usage
   * batches and request records are written from the event loop without a thread of their own.
   */
  threadPath: string | null;
}

/**
 * The store the configuration names: the embedded SQLite file, or PostgreSQL. Only the adapter named
 * is loaded (the PostgreSQL driver is some 30 modules each gateway thread would load for nothing).
 */
export async function openStore(
  config: Pick<Config, 'store' | 'storePath' | 'storePassword'>,
  options: { health?: HealthReporter; clock?: () => number; maxConnections?: number } = {},
): Promise<OpenedStore> {
  if (config.store.driver === 'postgres') {
    const { openPostgresStore } = await import('./postgres/postgres-store.ts');
    const url = new URL(config.store.url!);
    if (config.storePassword) url.password = encodeURIComponent(config.storePassword);
    return {
      store: openPostgresStore({
        connectionString: url.toString(),
        maxConnections: options.maxConnections ?? config.store.maxConnections,
        statementTimeoutMs: config.store.statementTimeoutMs,
        connectTimeoutMs: config.store.connectTimeoutMs,
        ...(options.health ? { health: options.health } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      }),
      threadPath: null,
    };
  }
  const { openSqliteStore } = await import('./sqlite/sqlite-store.ts');
  return {
    store: openSqliteStore(config.storePath, {
      busyTimeoutMs: config.store.busyTimeoutMs,
      ...(options.health ? { health: options.health } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    }),
    threadPath: config.storePath === ':memory:' ? null : config.storePath,
  };
}

/** Where the store is, for messages: never the password. */
export function describeStore(config: Pick<Config, 'store' | 'storePath'>): string {
  if (config.store.driver !== 'postgres') return config.storePath;
  const url = new URL(config.store.url!);
  url.password = '';
  return url.toString();
}
