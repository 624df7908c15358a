import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedStrings } from './shared-strings.ts';

test('equal strings share the copy seen first, and the bound starts the table over', () => {
  const shared = new SharedStrings(2);
  const first = shared.of(['app', '1'].join('_'));
  assert.equal(shared.of(['app', '1'].join('_')), first);
  assert.equal(shared.size, 1);
  shared.of('app_2');
  assert.equal(shared.size, 2);
  // A third distinct string starts over: memory stays bounded whatever the input.
  assert.equal(shared.of('app_3'), 'app_3');
  assert.equal(shared.size, 1);
});

test('a bound that is not a positive integer is refused when built', () => {
  assert.throws(() => new SharedStrings(0), RangeError);
  assert.throws(() => new SharedStrings(1.5), RangeError);
});
