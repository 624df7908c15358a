import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REQUEST_LOG_FIELDS } from '../store/port.ts';
import { decodeBatch, encodeBatch, EntryBatchWriter } from './entry-batch.ts';
import type { PackedEntry } from './request-entry.ts';

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
