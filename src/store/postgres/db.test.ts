import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConflictError, StorageUnavailableError } from '../port.ts';
import { classify } from './db.ts';

const pgError = (code: string) => Object.assign(new Error(`error ${code}`), { code });

describe('PostgreSQL error classification', () => {
  test('system errors (class 58) and corrupted data or index (XX001, XX002) are StorageUnavailableError, as SQLITE_IOERR and SQLITE_CORRUPT are', () => {
    for (const code of ['58000', '58030', '58P01', '58P02', 'XX001', 'XX002']) {
      const classified = classify(pgError(code));
      assert.ok(classified instanceof StorageUnavailableError, code);
      assert.match(classified.message, new RegExp(code));
    }
  });

  test('an internal error (XX000) and a query error stay as they are; a unique violation is a conflict', () => {
    for (const code of ['XX000', '42P01', '22P02']) {
      const error = pgError(code);
      assert.equal(classify(error), error, code);
    }
    assert.ok(classify(pgError('23505')) instanceof ConflictError);
  });
});
