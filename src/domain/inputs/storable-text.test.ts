import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unstorableTextAt } from './storable-text.ts';

test('unstorableTextAt names where a string or a name holds U+0000, and nothing for input without one', () => {
  assert.equal(unstorableTextAt({ name: 'plain', tags: ['a', 'b'], n: 1, none: null, nested: { ok: true } }), null);
  assert.deepEqual(unstorableTextAt({ name: 'nul\u0000here' }), ['name']);
  assert.deepEqual(unstorableTextAt({ metadata: { deep: [{ x: 'a' }, { y: '\u0000' }] } }), ['metadata', 'deep', 1, 'y']);
  assert.deepEqual(unstorableTextAt({ metadata: { 'k\u0000': 'v' } }), ['metadata', 'k\\u0000'], 'in a name, shown escaped');
  assert.deepEqual(unstorableTextAt('\u0000'), []);
  assert.equal(unstorableTextAt('\\u0000'), null, 'a backslash and "u0000" are six ordinary characters');
});

test('a lone surrogate is no character: named like a NUL; a pair (an emoji) is text', () => {
  assert.deepEqual(unstorableTextAt({ name: 'lone \ud800 here' }), ['name']);
  assert.deepEqual(unstorableTextAt({ metadata: { 'k\udc00': 'v' } }), ['metadata', 'k\\udc00']);
  assert.equal(unstorableTextAt({ name: 'emoji \ud83d\ude00 ok' }), null);
});
