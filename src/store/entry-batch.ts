import { REQUEST_LOG_FIELDS, type RequestLogEntry } from './port.ts';

/**
 * A request-log entry as an array: how the buffer holds it and how it travels to the writer thread
 * (postMessage clones arrays of values about twice as fast as objects with named fields). Written out
 * field by field in REQUEST_LOG_FIELDS order (request-entry.test.ts holds them to it): a `map` over
 * the field names cost a closure call and a megamorphic keyed load per field, and `Object.fromEntries`
 * built each entry in dictionary mode.
 */
export type PackedEntry = RequestLogEntry[(typeof REQUEST_LOG_FIELDS)[number]][];

export const pack = (e: RequestLogEntry): PackedEntry => [
  e.at,
  e.requestId,
  e.traceId,
  e.apiId,
  e.api,
  e.route,
  e.method,
  e.path,
  e.query,
  e.status,
  e.denialCode,
  e.durationMs,
  e.upstreamMs,
  e.bytesIn,
  e.bytesOut,
  e.keyId,
  e.appId,
  e.user,
  e.clientId,
  e.address,
  e.userAgent,
];

export const unpack = (p: PackedEntry): RequestLogEntry => ({
  at: p[0] as number,
  requestId: p[1] as string,
  traceId: p[2] as string | null,
  apiId: p[3] as string | null,
  api: p[4] as string | null,
  route: p[5] as string | null,
  method: p[6] as string,
  path: p[7] as string,
  query: p[8] as string | null,
  status: p[9] as number,
  denialCode: p[10] as string | null,
  durationMs: p[11] as number,
  upstreamMs: p[12] as number | null,
  bytesIn: p[13] as number,
  bytesOut: p[14] as number,
  keyId: p[15] as string | null,
  appId: p[16] as string | null,
  user: p[17] as string | null,
  clientId: p[18] as string | null,
  address: p[19] as string,
  userAgent: p[20] as string | null,
});

/**
 * Request-log entries waiting to be written, encoded one after another into a byte buffer: what the
 * request log holds between flushes and sends to the writer thread (postMessage copies the bytes).
 *
 * Why bytes and not an array per entry: at 10k requests a second the young generation is scavenged
 * every ~100 ms, so every buffered entry outlived one and most were promoted, about 270 bytes per
 * request (bench/survivors.ts). Promoted garbage is what drove the old generation to 2-3 times its
 * live size with 100k hot keys (issue 14, memory). Bytes outside the heap are neither copied by a
 * scavenge nor marked; a sealed batch is one small object.
 *
 * Encoding, per value: a tag byte (NULL, NUMBER: a little-endian float64, STRING: a uint32 byte count
 * then UTF-8). No library does this for a fixed row of plain values without an object per row
 * (MessagePack and CBOR encoders build their output from JavaScript values the same way, plus a
 * type dispatch per value); docs/architecture.md.
 */
export interface EntryBatch {
  /** The encoded entries, exactly `byteLength` bytes (a copy of the writer's buffer). */
  readonly bytes: Uint8Array;
  readonly entries: number;
}

const NULL = 0;
const NUMBER = 1;
const STRING = 2;
const FIELDS = REQUEST_LOG_FIELDS.length;
const FIRST_BYTES = 64 * 1024;

const utf8 = new TextEncoder();

/** `text` as a STRING value at `at`, where there is room for it; returns where the next value goes. */
function writeString(bytes: Uint8Array, view: DataView, at: number, text: string): number {
  bytes[at] = STRING;
  const start = at + 5;
  let end = start;
  // Ids, addresses, methods and most paths are ASCII: copied here, without a call out per string.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      end = start + utf8.encodeInto(text, bytes.subarray(start)).written;
      break;
    }
    bytes[end++] = c;
  }
  view.setUint32(at + 1, end - start, true);
  return end;
}

/**
 * Appends entries to a growing buffer, kept and reused: `seal` hands over what it holds as one batch
 * and starts anew; `parts` hands it over as batches of at most `partEntries` (the constructor's),
 * after which `clear` starts anew.
 *
 * Why parts are cut only when handed over: a batch is a copy of its bytes in an ArrayBuffer of its
 * own. Cut as soon as it filled, it waited for the flush (up to `flushIntervalMs`), outlived two
 * scavenges and was promoted; V8 then started a major GC every ten seconds or so at 5,000 requests a
 * second, with marking steps of 16-24 ms on the request thread, although the old generation was far
 * below its limit (docs/benchmarks.md, "seventeenth look"). Cut one at a time as each is sent, a
 * part lives for one round trip to the writer and dies young.
 */
export class EntryBatchWriter {
  readonly #partEntries: number;
  #bytes = new Uint8Array(FIRST_BYTES);
  #view = new DataView(this.#bytes.buffer);
  #at = 0;
  #entries = 0;
  /** Where each full part ends (a byte offset), every `partEntries` entries. */
  #partEnds: number[] = [];

  constructor(partEntries = Number.POSITIVE_INFINITY) {
    if (!(partEntries >= 1)) throw new Error('partEntries must be at least 1');
    this.#partEntries = partEntries;
  }

  get entries(): number {
    return this.#entries;
  }

  add(entry: PackedEntry): void {
    // Room for the worst case once (UTF-8 takes at most 3 bytes per UTF-16 unit), then no checks.
    let worst = FIELDS * 9;
    for (let i = 0; i < FIELDS; i++) {
      const value = entry[i];
      if (typeof value === 'string') worst += 4 + 3 * value.length;
    }
    this.#room(worst);
    const bytes = this.#bytes;
    const view = this.#view;
    let at = this.#at;
    for (let i = 0; i < FIELDS; i++) {
      const value = entry[i];
      if (typeof value === 'number') {
        bytes[at] = NUMBER;
        view.setFloat64(at + 1, value, true);
        at += 9;
      } else if (typeof value === 'string') at = writeString(bytes, view, at, value);
      else bytes[at++] = NULL;
    }
    this.#at = at;
    if (++this.#entries % this.#partEntries === 0) this.#partEnds.push(at);
  }

  /** The entries added since the last seal, as a batch of their own; null when there are none. */
  seal(): EntryBatch | null {
    if (this.#entries === 0) return null;
    const batch = { bytes: this.#bytes.slice(0, this.#at), entries: this.#entries };
    this.clear();
    return batch;
  }

  /**
   * The entries added since the last seal, as batches of `partEntries` (the last may hold fewer), in
   * order, each copied out of the buffer only when the iteration reaches it. Nothing may be added
   * until the iteration is over; `clear` then starts anew.
   */
  *parts(): Generator<EntryBatch, void, undefined> {
    const ends = this.#partEnds;
    let start = 0;
    for (const end of ends) {
      yield { bytes: this.#bytes.slice(start, end), entries: this.#partEntries };
      start = end;
    }
    const rest = this.#entries - ends.length * this.#partEntries;
    if (rest > 0) yield { bytes: this.#bytes.slice(start, this.#at), entries: rest };
  }

  /** Forgets every entry added; the buffer is kept for the next ones. */
  clear(): void {
    this.#at = 0;
    this.#entries = 0;
    this.#partEnds = [];
  }

  #room(needed: number): void {
    if (this.#at + needed <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#at + needed));
    grown.set(this.#bytes.subarray(0, this.#at));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }
}

/** `rows` as one batch; null when there are none. */
export function encodeBatch(rows: readonly PackedEntry[]): EntryBatch | null {
  const writer = new EntryBatchWriter();
  for (const row of rows) writer.add(row);
  return writer.seal();
}

/**
 * A test of one stored entry, read from its bytes so that an entry which fails it is never decoded
 * (store/request-log-filters.ts makes them from a query's filters): text, when any of `fields` holds
 * exactly `equals`; a number, when `field` holds one in the range (a null is in none).
 */
export type EntryCondition =
  { fields: readonly number[]; equals: string } | { field: number; atLeast?: number | undefined; atMost?: number | undefined; below?: number | undefined };

/**
 * Walks a batch entry by entry, checking that each is whole, and gives `visit` the entry's number and
 * where each of its values starts (the offset of its tag), in one array reused for every entry.
 * Throws on bytes no EntryBatchWriter wrote.
 */
function walk(batch: EntryBatch, visit: (entry: number, starts: Int32Array) => void): void {
  const { bytes } = batch;
  const end = bytes.byteLength;
  const view = new DataView(bytes.buffer, bytes.byteOffset, end);
  const starts = new Int32Array(FIELDS);
  let at = 0;
  for (let n = 0; n < batch.entries; n++) {
    for (let i = 0; i < FIELDS; i++) {
      if (at >= end) throw truncated(batch, n);
      starts[i] = at;
      const tag = bytes[at++];
      if (tag === NUMBER) at += 8;
      else if (tag === STRING) at += at + 4 > end ? 4 : 4 + view.getUint32(at, true);
      else if (tag !== NULL) throw new Error(`request-log batch: unknown tag ${String(tag)} at byte ${at - 1}`);
      if (at > end) throw truncated(batch, n);
    }
    visit(n, starts);
  }
  if (at !== end) throw new Error(`request-log batch: ${end - at} bytes left over after ${batch.entries} entries`);
}

/** Reads values where `walk` found them. */
class BatchReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  // Buffer's UTF-8 slice makes a short string about twice as fast as a TextDecoder over a subarray
  // (bench: 12 strings a row). It does not throw on bad UTF-8: these bytes are our own encoder's.
  readonly #text: Buffer;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  value(at: number): string | number | null {
    const tag = this.#bytes[at];
    if (tag === NUMBER) return this.#view.getFloat64(at + 1, true);
    if (tag === STRING) return this.#text.toString('utf8', at + 5, at + 5 + this.#view.getUint32(at + 1, true));
    return null;
  }

  row(starts: Int32Array): PackedEntry {
    const row: PackedEntry = [];
    for (let i = 0; i < FIELDS; i++) row.push(this.value(starts[i]!));
    return row;
  }

  /** The number at `at`; NaN for a null or a string (in no range). */
  number(at: number): number {
    return this.#bytes[at] === NUMBER ? this.#view.getFloat64(at + 1, true) : NaN;
  }

  /** Whether the value at `at` is the text whose UTF-8 is `text`, compared byte for byte. */
  textIs(at: number, text: Uint8Array): boolean {
    if (this.#bytes[at] !== STRING || this.#view.getUint32(at + 1, true) !== text.length) return false;
    const bytes = this.#bytes;
    for (let i = 0, from = at + 5; i < text.length; i++) if (bytes[from + i] !== text[i]) return false;
    return true;
  }
}

/** The entries of a batch, as rows (off the request thread). Throws on bytes no EntryBatchWriter wrote. */
export function decodeBatch(batch: EntryBatch): PackedEntry[] {
  const reader = new BatchReader(batch.bytes);
  const rows: PackedEntry[] = [];
  walk(batch, (_, starts) => rows.push(reader.row(starts)));
  return rows;
}

/**
 * What picks a batch's entries that pass every condition, with their place in the batch; the rest are
 * not decoded. Made once per query (the conditions' text encoded once), used on each batch it reads.
 */
export function entrySelector(conditions: readonly EntryCondition[]): (batch: EntryBatch) => { index: number; row: PackedEntry }[] {
  const tests = conditions.map((c): ((reader: BatchReader, starts: Int32Array) => boolean) => {
    if ('equals' in c) {
      const wanted = utf8.encode(c.equals);
      return (reader, starts) => c.fields.some((f) => reader.textIs(starts[f]!, wanted));
    }
    const { field, atLeast = -Infinity, atMost = Infinity, below = Infinity } = c;
    return (reader, starts) => {
      const n = reader.number(starts[field]!);
      return n >= atLeast && n <= atMost && n < below;
    };
  });
  return (batch) => {
    const reader = new BatchReader(batch.bytes);
    const selected: { index: number; row: PackedEntry }[] = [];
    walk(batch, (index, starts) => {
      for (const test of tests) if (!test(reader, starts)) return;
      selected.push({ index, row: reader.row(starts) });
    });
    return selected;
  };
}

const truncated = (batch: EntryBatch, entry: number): Error =>
  new Error(`request-log batch: ${batch.bytes.byteLength} bytes end inside entry ${entry + 1} of ${batch.entries}`);

/**
 * The earliest and latest time (`at`, the first field) of a batch's entries, checking on the way that
 * each entry is whole: what decodeBatch would throw on, this throws on, without making a string. A
 * store that keeps batches as they are indexes them by this range, and refuses bytes it could not read.
 */
export function batchTimeRange(batch: EntryBatch): { first: number; last: number } {
  if (batch.entries === 0) throw new Error('request-log batch: no entries');
  const reader = new BatchReader(batch.bytes);
  let first = Infinity;
  let last = -Infinity;
  walk(batch, (n, starts) => {
    const time = reader.number(starts[0]!);
    if (Number.isNaN(time)) throw new Error(`request-log batch: entry ${n + 1} of ${batch.entries} does not start with its time`);
    if (time < first) first = time;
    if (time > last) last = time;
  });
  return { first, last };
}

/** Entries as one batch (an empty one for none): how a caller with entry objects appends them. */
export const entryBatch = (entries: readonly RequestLogEntry[]): EntryBatch => encodeBatch(entries.map(pack)) ?? { bytes: new Uint8Array(0), entries: 0 };

/** A batch's entries as objects. Throws on bytes no EntryBatchWriter wrote. */
export const entriesOf = (batch: EntryBatch): RequestLogEntry[] => decodeBatch(batch).map(unpack);
