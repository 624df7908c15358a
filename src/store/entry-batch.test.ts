import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REQUEST_LOG_FIELDS } from './port.ts';
import { batchTimeRange, decodeBatch, encodeBatch, entriesOf, entryBatch, EntryBatchWriter, unpack } from './entry-batch.ts';
import type { EntryBatch, PackedEntry } from './entry-batch.ts';

/** A row of every field, the values given by position, the rest made up. */
const row = (overrides: Record<number, string | number | null> = {}): PackedEntry =>
  REQUEST_LOG_FIELDS.map((_, i) => (i in overrides ? overrides[i]! : i % 3 === 0 ? i * 1.5 : `field ${i}`));

test('a batch gives back every entry as it was: numbers, nulls, empty and non-ASCII strings, in order', () => {
  const rows = [
    row(),
    row({ 0: Date.UTC(2026, 11, 6, 3, 4, 5, 678), 1: '', 2: null, 7: '/caf\u00e9/\u{1F600}/\u6f22', 11: 0.125, 12: null, 20: 'Mozilla/5.0 (\u00fcber)' }),
    row({ 9: 503, 13: Number.MAX_SAFE_INTEGER, 14: -0.001 }),
  ];
  const batch = encodeBatch(rows);
  assert.ok(batch);
  assert.equal(batch.entries, 3);
  assert.deepEqual(decodeBatch(batch), rows);
});

test('a writer seals what it holds and starts anew; an empty one seals nothing', () => {
  const writer = new EntryBatchWriter();
  assert.equal(writer.seal(), null);
  writer.add(row({ 1: 'first' }));
  const first = writer.seal();
  writer.add(row({ 1: 'second' }));
  writer.add(row({ 1: 'third' }));
  const second = writer.seal();
  assert.deepEqual(
    decodeBatch(first!).map((r) => r[1]),
    ['first'],
  );
  assert.deepEqual(
    decodeBatch(second!).map((r) => r[1]),
    ['second', 'third'],
  );
  assert.equal(writer.entries, 0);
});

test('a writer hands its entries over in parts of the size it was given, each a copy made as it is reached; cleared, it starts anew', () => {
  const writer = new EntryBatchWriter(3);
  const rows = Array.from({ length: 7 }, (_, i) => row({ 1: `req_${i}` }));
  for (const r of rows) writer.add(r);
  const all: EntryBatch[] = [...writer.parts()];
  assert.deepEqual(
    all.map((b) => b.entries),
    [3, 3, 1],
  );
  assert.deepEqual(
    all.flatMap((b) => decodeBatch(b)),
    rows,
  );
  writer.clear();
  assert.equal(writer.entries, 0);
  assert.deepEqual([...writer.parts()], []);
  // Copies: entries written over the reused buffer leave the parts handed over as they were.
  for (const r of rows.slice(0, 4)) writer.add(row({ 1: `next_${String(r[1])}` }));
  assert.deepEqual(decodeBatch(all[0]!), rows.slice(0, 3));
  assert.deepEqual(
    [...writer.parts()].map((b) => b.entries),
    [3, 1],
  );
  assert.throws(() => new EntryBatchWriter(0), /at least 1/);
});

test('entries past the first buffer, long multi-byte strings among them, are all kept whole', () => {
  const long = '\u00e9'.repeat(5000) + 'x'.repeat(3000);
  const rows = Array.from({ length: 400 }, (_, i) => row({ 1: `req_${i}`, 7: i % 7 === 0 ? long : `/p/${i}` }));
  assert.deepEqual(decodeBatch(encodeBatch(rows)!), rows);
});

test('bytes that are not a batch are refused with an error, not read as entries', () => {
  const batch = encodeBatch([row()])!;
  assert.throws(() => decodeBatch({ bytes: batch.bytes.subarray(0, batch.bytes.length - 3), entries: 1 }), /end inside entry 1 of 1/);
  assert.throws(() => decodeBatch({ bytes: batch.bytes, entries: 2 }), /end inside entry 2 of 2/);
  const extra = new Uint8Array(batch.bytes.length + 1);
  extra.set(batch.bytes);
  assert.throws(() => decodeBatch({ bytes: extra, entries: 1 }), /1 bytes left over/);
  const wrongTag = batch.bytes.slice();
  wrongTag[0] = 9;
  assert.throws(() => decodeBatch({ bytes: wrongTag, entries: 1 }), /unknown tag 9 at byte 0/);
});

test("a batch's time range is its earliest and latest entry, in whatever order they came; bytes no writer made are refused", () => {
  const batch = encodeBatch([row({ 0: 30 }), row({ 0: 10 }), row({ 0: 50 }), row({ 0: 20 })])!;
  assert.deepEqual(batchTimeRange(batch), { first: 10, last: 50 });
  assert.throws(() => batchTimeRange({ bytes: batch.bytes.subarray(0, batch.bytes.length - 1), entries: 4 }), /bytes end inside entry 4 of 4/);
  assert.throws(() => batchTimeRange({ bytes: batch.bytes, entries: 3 }), /bytes left over after 3 entries/);
  assert.throws(() => batchTimeRange({ bytes: batch.bytes, entries: 5 }), /bytes end inside entry 5 of 5/);
  assert.throws(() => batchTimeRange(encodeBatch([row({ 0: 'not a time' })])!), /entry 1 of 1 does not start with its time/);
  assert.throws(() => batchTimeRange({ bytes: new Uint8Array(0), entries: 0 }), /no entries/);
});

test('entries turned into a batch come back the same; none make an empty batch', () => {
  const entries = [row({ 0: 1, 1: 'a' }), row({ 0: 2, 1: 'b' })].map(unpack);
  assert.deepEqual(entriesOf(entryBatch(entries)), entries);
  assert.deepEqual(entryBatch([]), { bytes: new Uint8Array(0), entries: 0 });
  assert.deepEqual(entriesOf(entryBatch([])), []);
});
