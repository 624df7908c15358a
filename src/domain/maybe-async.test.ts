import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { andThen } from './maybe-async.ts';

describe('andThen (a value now, or a promise of one)', () => {
  test('a plain value is handed on at once: the function runs before andThen returns, and no promise is made', () => {
    let ran = false;
    const result = andThen(20, (n) => ((ran = true), n + 1));
    assert.equal(ran, true);
    assert.equal(result instanceof Promise, false);
    assert.equal(result, 21);
  });

  test('a promise is chained: the function runs once it settles, and the answer is a promise', async () => {
    let ran = false;
    const result = andThen(Promise.resolve(20), (n) => ((ran = true), n + 1));
    assert.equal(ran, false);
    assert.ok(result instanceof Promise);
    assert.equal(await result, 21);
    assert.equal(ran, true);
  });

  test('context arguments reach the function on both paths, so callers need no closure per call', async () => {
    const add = (n: number, by: { step: number }) => n + by.step;
    assert.equal(andThen(1, add, { step: 2 }), 3);
    assert.equal(await andThen(Promise.resolve(1), add, { step: 2 }), 3);
    const line = (n: number, times: number, plus: number) => n * times + plus;
    assert.equal(andThen(2, line, 10, 1), 21);
    assert.equal(await andThen(Promise.resolve(2), line, 10, 1), 21);
  });

  test('a function that answers with a promise is flattened, not nested', async () => {
    assert.equal(await andThen(Promise.resolve(1), (n) => Promise.resolve(n * 10)), 10);
    assert.equal(await andThen(1, (n) => Promise.resolve(n * 10)), 10);
  });

  test('a rejection passes through and the function is not called', async () => {
    let ran = false;
    await assert.rejects(Promise.resolve(andThen(Promise.reject(new Error('store down')), () => (ran = true))), /store down/);
    assert.equal(ran, false);
  });

  test('a synchronous throw in the function propagates to the caller as a throw, as a direct call would', () => {
    assert.throws(
      () =>
        andThen(1, () => {
          throw new Error('boom');
        }),
      /boom/,
    );
  });
});
