import pg from 'pg';
import { ConflictError, StorageUnavailableError, type Page, type PageQuery } from '../port.ts';

export type Row = Record<string, unknown>;

/** Runs statements: the pool (each on any connection) or one transaction's connection. */
export interface Queryable {
  query(text: string, args?: readonly unknown[]): Promise<{ rows: Row[]; rowCount: number }>;
}

/**
 * What every repository of the PostgreSQL adapter shares: the pool, transactions on one of its
 * connections, and the clock that stamps audit entries.
 */
export interface PgDb extends Queryable {
  /** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  clock: () => number;
  pool: pg.Pool;
}

export interface PgPoolOptions {
  connectionString: string;
  /** Connections at most (pg's `max`). */
  maxConnections?: number;
  /** A statement running longer is cancelled by the server, so a stuck query cannot hold a connection. */
  statementTimeoutMs?: number;
  /** How long to wait for a connection from the pool (or a new one) before failing. */
  connectTimeoutMs?: number;
  /** The schema tables live in (search_path): tests give each store its own. */
  schema?: string;
}

// BIGINT (epoch ms, counters) and NUMERIC (SUM of BIGINTs) arrive as strings by default; every value
// we keep in them is below 2^53, so they are read as numbers.
const NUMERIC_TYPES = new Set([pg.types.builtins.INT8, pg.types.builtins.NUMERIC]);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    NUMERIC_TYPES.has(oid) && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export function pgPool(options: PgPoolOptions): pg.Pool {
  return new pg.Pool({ ...connectionConfig(options), statement_timeout: options.statementTimeoutMs ?? 5000, max: options.maxConnections ?? 10 });
}

/**
 * A connection of its own for migrations, without the requests' statement timeout: a migration that
 * rewrites a large table, and a node waiting for another node's migration, take as long as they take
 * (under the 5 s default, a rewrite of 2,000,000 rows was cancelled and the node could not start).
 */
export function pgMigrationClient(options: PgPoolOptions): pg.Client {
  return new pg.Client(connectionConfig(options));
}

/** What every connection of a store is opened with: where, how long to wait for it, its schema. */
function connectionConfig(options: PgPoolOptions): pg.ClientConfig {
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) throw new Error('schema must be a lower-case SQL identifier');
  return {
    connectionString: options.connectionString,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    types,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  };
}

export function pgDb(pool: pg.Pool, options: { clock: () => number; committed: () => void; failed: (error: StorageUnavailableError) => void }): PgDb {
  const run = async (target: pg.Pool | pg.PoolClient, text: string, args?: readonly unknown[]) => {
    // PostgreSQL's text cannot hold U+0000 (docs §8.3), so nothing stored has it: a read keyed by
    // such a value (a name a client typed) finds nothing, as it would on SQLite, instead of failing
    // with 22021 "invalid byte sequence".
    if (args?.some(hasNul) && READ.test(text)) return { rows: [], rowCount: 0 };
    try {
      const result = await target.query(text, args as unknown[] | undefined);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    } catch (error) {
      const classified = classify(error);
      if (classified instanceof StorageUnavailableError) options.failed(classified);
      throw classified;
    }
  };
  return {
    pool,
    clock: options.clock,
    query: (text, args) => run(pool, text, args),
    async transaction(work) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        const classified = classify(error);
        if (classified instanceof StorageUnavailableError) options.failed(classified);
        throw classified;
      }
      let broken = false;
      // A checked-out client has no 'error' listener of the pool's: the server going away between two
      // statements would be an unhandled 'error' event, which ends the process. Reported, and the
      // connection dropped at release; the next statement fails with the outage.
      const onError = (error: Error) => {
        broken = true;
        const classified = classify(error);
        if (classified instanceof StorageUnavailableError) options.failed(classified);
      };
      client.on('error', onError);
      try {
        await run(client, 'BEGIN');
        const result = await work({ query: (text, args) => run(client, text, args) });
        await run(client, 'COMMIT');
        options.committed();
        return result;
      } catch (error) {
        // A connection that failed mid-transaction may be gone; ROLLBACK on it would hide the real error.
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = true;
          // The transaction's own error is the one reported; the failed ROLLBACK is why the connection is dropped.
          void rollbackError;
        }
        // run() has classified and reported it already; work() may throw errors of its own.
        throw classify(error);
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
  };
}

const READ = /^\s*SELECT\b/i;
const hasNul = (arg: unknown): boolean => typeof arg === 'string' && arg.includes('\u0000');

/** What means "cannot work now" (classify) beside classes 08, 53, 57P0 and 58: SQLSTATEs, and Node's codes for a connection not made or lost. */
// XX001/XX002 (data or index corrupted) as SQLITE_CORRUPT is; XX000 (internal error) is a bug, not an outage.
const CANNOT_WORK_NOW = new Set(['57014', '55P03', '40001', '40P01', '25006', 'XX001', 'XX002']);
const NO_CONNECTION = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * The engine's failures as the port's errors (SQLSTATE codes, PostgreSQL appendix A): a unique or
 * foreign-key violation is a conflict with what is stored; a lost or refused connection, a server
 * whose name does not resolve (now) or that cannot be routed to, a server shutting down, out of
 * resources, a cancelled (timed out) statement, a lock not had in time (lock_timeout), a read-only
 * server, a serialization failure or deadlock, the server's system or I/O errors (class 58, as
 * SQLITE_IOERR) and corrupted data or index (XX001, XX002) are "cannot work now".
 */
export function classify(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (error instanceof ConflictError || error instanceof StorageUnavailableError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === '23505' || code === '23503') return new ConflictError(error.message);
  if (typeof code === 'string' && (/^(08|53|57P0|58)/.test(code) || CANNOT_WORK_NOW.has(code) || NO_CONNECTION.has(code)))
    return new StorageUnavailableError(`the PostgreSQL store cannot work now (${code}: ${error.message})`, { cause: error });
  if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(error.message))
    return new StorageUnavailableError(`the PostgreSQL store cannot work now (${error.message})`, { cause: error });
  return error;
}

/** One page of rows fetched with `LIMIT limit + 1`: the extra row only says that another page follows. */
export function page<T>(rows: Row[], query: PageQuery, map: (row: Row) => T): Page<T> {
  const items = rows.slice(0, query.limit).map(map);
  const last = items.at(-1) as { id: string } | undefined;
  return { items, nextCursor: rows.length > query.limit && last ? last.id : null };
}

/** A JSON value for a jsonb parameter: absent and null are both SQL NULL. */
export function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}
