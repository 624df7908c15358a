import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedTable } from './shared-table.ts';

test("names worked out to share one table's stripe are spread over another table's: the hash is seeded per table", () => {
  const first = new SharedTable(SharedTable.allocate(1024 * 64));
  const second = new SharedTable(SharedTable.allocate(1024 * 64));
  // What an attacker who could compute stripes offline would send: names that all land in stripe 0.
  const crowded: string[] = [];
  for (let i = 0; crowded.length < 64; i++) if (first.name(`jti-${i}`).stripe === 0) crowded.push(`jti-${i}`);
  const stripes = new Set(crowded.map((name) => second.name(name).stripe));
  assert.ok(stripes.size > 32, `64 names fell in ${stripes.size} stripes of the second table`);
});

test('every thread that maps a table hashes a name alike (the seed is in the shared buffer)', () => {
  const table = new SharedTable(SharedTable.allocate(4096));
  const mapped = new SharedTable(table.buffer);
  for (const text of ['a', 'key_123', 'dpop:xyz']) assert.deepEqual(mapped.name(text, 'subject'), table.name(text, 'subject'));
});
