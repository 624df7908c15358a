import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ControlError, requireFound } from './context.ts';

test('requireFound hands back what the store found, and turns nothing into 404 RESOURCE_NOT_FOUND naming the id', () => {
  const key = { id: 'key_1' };
  assert.equal(requireFound(key, 'key', 'key_1'), key);
  assert.equal(requireFound(0, 'count', 'c'), 0, 'a falsy value that is not null or undefined is found');
  for (const missing of [null, undefined]) {
    assert.throws(
      () => requireFound(missing, 'key', 'key_2'),
      (error: unknown) => error instanceof ControlError && error.code === 'RESOURCE_NOT_FOUND' && error.message === 'no key with id key_2',
    );
  }
});
