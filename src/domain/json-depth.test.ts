import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonDepthExceeds } from './json-depth.ts';

test('jsonDepthExceeds counts objects and arrays, not brackets inside strings', () => {
  assert.equal(jsonDepthExceeds('{"a":{"b":[1,2]}}', 3), false);
  assert.equal(jsonDepthExceeds('{"a":{"b":[1,2]}}', 2), true);
  assert.equal(jsonDepthExceeds('{"a":"[[[[[[{{{{\\"[[["}', 1), false);
});

test('jsonDepthExceeds answers for 100,000 levels without recursing', () => {
  assert.equal(jsonDepthExceeds('['.repeat(100_000) + ']'.repeat(100_000), 64), true);
});
