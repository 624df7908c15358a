import type { DatabaseSync } from 'node:sqlite';
import { ConflictError, StorageUnavailableError } from '../port.ts';

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
