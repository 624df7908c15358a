import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nulAt } from './storable-text.ts';

test('nulAt names where a string or a name holds U+0000, and nothing for input without one', () => {
  assert.equal(nulAt({ name: 'plain', tags: ['a', 'b'], n: 1, none: null, nested: { ok: true } }), null);
  assert.deepEqual(nulAt({ name: 'nul\u0000here' }), ['name']);
  assert.deepEqual(nulAt({ metadata: { deep: [{ x: 'a' }, { y: '\u0000' }] } }), ['metadata', 'deep', 1, 'y']);
  assert.deepEqual(nulAt({ metadata: { 'k\u0000': 'v' } }), ['metadata', 'k\\u0000'], 'in a name, shown escaped');
  assert.deepEqual(nulAt('\u0000'), []);
  assert.equal(nulAt('\\u0000'), null, 'a backslash and "u0000" are six ordinary characters');
});
