import type { DatabaseSync, SQLInputValue, StatementResultingChanges, StatementSync } from 'node:sqlite';
import { ConflictError, StorageUnavailableError, type Page, type PageQuery } from '../port.ts';

/**
 * What every repository of the SQLite adapter shares: one connection's prepared statements, its
 * transactions and the clock. Calls are synchronous underneath and complete before the returned
 * promise settles, so each method's transaction never spans an `await`.
 */
export interface SqliteDb {
  /** The statement for `text`, prepared once per connection. */
  sql(text: string): StatementSync;
  /** Runs `work` in one write transaction (runTransaction), then reports that a write committed. */
  transaction<T>(work: () => T): T;
  /** Stamps audit entries and migrations. */
  clock: () => number;
}

export function sqliteDb(db: DatabaseSync, options: { clock: () => number; committed: () => void }): SqliteDb {
  const statements = new Map<string, StatementSync>();
  return {
    sql(text) {
      let statement = statements.get(text);
      if (!statement) {
        statement = db.prepare(text);
        statements.set(text, statement);
      }
      return statement;
    },
    transaction(work) {
      const result = runTransaction(db, work);
      options.committed();
      return result;
    },
    clock: options.clock,
  };
}

/** Whether an UPDATE found a row to change. */
export const changedAny = (result: StatementResultingChanges): boolean => Number(result.changes) > 0;

/** One page of rows fetched with `LIMIT limit + 1`: the extra row only says that another page follows. */
export function page<T>(rows: Record<string, SQLInputValue>[], query: PageQuery, map: (row: Record<string, SQLInputValue>) => T): Page<T> {
  const items = rows.slice(0, query.limit).map(map);
  const last = items.at(-1) as { id: string } | undefined;
  return { items, nextCursor: rows.length > query.limit && last ? last.id : null };
}

/** A JSON column's value: absent and null are both SQL NULL. */
export function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/**
 * Runs `work` in one write transaction. Errors leave as the port's errors (ConflictError,
 * StorageUnavailableError with SQLite's own error as `cause`), never as a ROLLBACK failure.
 */
export function runTransaction<T>(db: DatabaseSync, work: () => T): T {
  try {
    db.exec('BEGIN IMMEDIATE');
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    // After SQLITE_FULL, SQLITE_IOERR or SQLITE_BUSY (even on COMMIT) SQLite may have rolled back
    // already; a ROLLBACK then would throw "no transaction is active" and hide the real error.
    if (db.isTransaction) db.exec('ROLLBACK');
    throw classify(error);
  }
}

/** SQLite's primary result codes that mean "the storage cannot work now", not "this request is wrong". */
const UNAVAILABLE = new Map([
  [5, 'SQLITE_BUSY'],
  [6, 'SQLITE_LOCKED'],
  [8, 'SQLITE_READONLY'],
  [10, 'SQLITE_IOERR'],
  [11, 'SQLITE_CORRUPT'],
  [13, 'SQLITE_FULL'],
  [14, 'SQLITE_CANTOPEN'],
  [26, 'SQLITE_NOTADB'],
]);

export function classify(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  // UNIQUE: a name or path is taken; FOREIGN KEY: the row is still referenced (an app with keys).
  if (/(UNIQUE|FOREIGN KEY) constraint failed/i.test(error.message)) return new ConflictError(error.message);
  const errcode = (error as { errcode?: unknown }).errcode;
  const primary = typeof errcode === 'number' ? UNAVAILABLE.get(errcode & 0xff) : undefined;
  if (primary) return new StorageUnavailableError(`the SQLite store cannot write (${primary}: ${error.message})`, { cause: error });
  return error;
}
