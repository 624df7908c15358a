import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPepper, findBySecret, hashKey } from './key-hash.ts';

const current = createPepper(Buffer.from('current-pepper-0123456789abcdefghijkl'));
const previous = createPepper(Buffer.from('previous-pepper-0123456789abcdefghijk'));

test('findBySecret finds a record hashed under an earlier pepper during a pepper rotation', async () => {
  const record = { id: 'key_1', hash: hashKey('gk_secret', previous) };
  const tried: string[] = [];
  const found = await findBySecret('gk_secret', [current, previous], async (hash) => (tried.push(hash), hash === record.hash ? record : null));
  assert.equal(found, record);
  assert.deepEqual(tried, [hashKey('gk_secret', current), record.hash]);
});

test('findBySecret does not trust the index: a record whose stored hash differs is not a match', async () => {
  // An adapter whose index compares case-insensitively (or a collation) could return a near match.
  const presented = hashKey('gk_secret', current);
  const nearMatch = { id: 'key_2', hash: presented.toUpperCase() === presented ? presented.toLowerCase() : presented.toUpperCase() };
  assert.equal(await findBySecret('gk_secret', [current], async () => nearMatch), null);
});
