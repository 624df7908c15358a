import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LazyLru } from './lazy-lru.ts';

test('a cache that is only read, deleted from or cleared is never made', () => {
  const cache = new LazyLru<string, number>({ max: 100_000 });
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.peek('a'), undefined);
  cache.delete('a');
  cache.clear();
  assert.equal(cache.made, false);
  cache.set('a', 1);
  assert.equal(cache.made, true);
  assert.equal(cache.get('a'), 1);
});

test('once made it keeps the max entries used last, and tells each one it lets go', () => {
  const gone: string[] = [];
  const cache = new LazyLru<string, number>({ max: 2, dispose: (_value, key) => gone.push(key) });
  cache.set('a', 1);
  cache.set('b', 2);
  assert.equal(cache.get('a'), 1); // a is now used after b
  cache.set('c', 3);
  assert.equal(cache.get('b'), undefined);
  assert.deepEqual([cache.get('a'), cache.get('c')], [1, 3]);
  // peek reads without making an entry the latest used: b is gone, so a (read last by get) stays.
  assert.equal(cache.peek('c'), 3);
  cache.delete('a');
  cache.clear();
  assert.deepEqual(gone, ['b', 'a', 'c']);
});

test('a bound that is not a positive whole number is refused when built', () => {
  assert.throws(() => new LazyLru({ max: 0 }), RangeError);
  assert.throws(() => new LazyLru({ max: 1.5 }), RangeError);
});
