import { LATENCY_BUCKETS } from '../domain/latency-histogram.ts';
import type { StatusClass, UsageCell } from '../store/port.ts';

/**
 * What cells share: the dimensions but the key and the app. Few distinct ones (routes × denial codes ×
 * status classes), so a cell holds the number of its group, not four references.
 */
interface Group {
  apiId: string | null;
  route: string | null;
  denialCode: string | null;
  statusClass: StatusClass;
}

/** A name's cells (key, or app when there is no key): one cell number, or several when it has more (one per denial code and status class seen). */
type Cells = number | number[];

/** The cells of one API and route: by key (a key belongs to one app), and for requests without a key by app. */
interface RouteCells {
  byKey: Map<string, Cells>;
  byApp: Map<string, Cells>;
}

/** Counts per cell, side by side in one Float64Array: the minute they belong to, then the sums. */
const MINUTE = 0;
const REQUESTS = 1;
const BYTES_IN = 2;
const BYTES_OUT = 3;
const DURATION_US = 4;
const COUNTS = 5;
const FIRST_CAPACITY = 1024;

/**
 * Usage analytics' cells as columns: a cell is a number, its counts a row of a Float64Array and its
 * latency histogram a row of a Uint32Array, its key, app and group an entry in three more. An object
 * per cell with its own histogram array cost a hot key about 335 bytes in every gateway thread, a row
 * here about 120 (issue 14, bench/per-key-memory.ts). The index finds a cell by walking small Maps
 * keyed by the request's own values (API, route, then key or app): nothing is allocated to look up or
 * to count. Cell numbers stay valid until `retain` or `clear`.
 */
export class CellTable {
  #size = 0;
  #counts = new Float64Array(FIRST_CAPACITY * COUNTS);
  #latency = new Uint32Array(FIRST_CAPACITY * LATENCY_BUCKETS);
  #keyIds: (string | null)[] = [];
  #appIds: (string | null)[] = [];
  #groupOf = new Uint32Array(FIRST_CAPACITY);
  readonly #groups: Group[] = [];
  /** Group number by its dimensions (a string made only when a cell is added). */
  readonly #groupIds = new Map<string, number>();
  #byApi = new Map<string, Map<string, RouteCells>>();

  get size(): number {
    return this.#size;
  }

  /** The cell of this combination; -1 when none is held. */
  find(apiId: string | null, route: string | null, keyId: string | null, appId: string | null, denial: string | null, statusClass: StatusClass): number {
    const cells = this.#byApi.get(apiId ?? '')?.get(route ?? '');
    if (cells === undefined) return -1;
    const held = keyId === null ? cells.byApp.get(appId ?? '') : cells.byKey.get(keyId);
    if (held === undefined) return -1;
    if (typeof held === 'number') return this.#matches(held, appId, denial, statusClass) ? held : -1;
    for (const cell of held) if (this.#matches(cell, appId, denial, statusClass)) return cell;
    return -1;
  }

  /** A new cell, all counts zero, of a combination find() holds none of. */
  add(
    minute: number,
    apiId: string | null,
    route: string | null,
    keyId: string | null,
    appId: string | null,
    denial: string | null,
    statusClass: StatusClass,
  ): number {
    if (this.#size === this.#groupOf.length) this.#grow();
    const cell = this.#size++;
    this.#counts.fill(0, cell * COUNTS, (cell + 1) * COUNTS);
    this.#counts[cell * COUNTS + MINUTE] = minute;
    this.#latency.fill(0, cell * LATENCY_BUCKETS, (cell + 1) * LATENCY_BUCKETS);
    this.#keyIds.push(keyId);
    this.#appIds.push(appId);
    this.#groupOf[cell] = this.#groupNumber(apiId, route, denial, statusClass);
    this.#index(cell);
    return cell;
  }

  minute(cell: number): number {
    return this.#counts[cell * COUNTS + MINUTE]!;
  }

  setMinute(cell: number, minute: number): void {
    this.#counts[cell * COUNTS + MINUTE] = minute;
  }

  requests(cell: number): number {
    return this.#counts[cell * COUNTS + REQUESTS]!;
  }

  /** One request counted into the cell: `bucket` is its duration's latency bucket. */
  count(cell: number, bytesIn: number, bytesOut: number, durationUs: number, bucket: number): void {
    const at = cell * COUNTS;
    const counts = this.#counts;
    counts[at + REQUESTS]! += 1;
    counts[at + BYTES_IN]! += bytesIn;
    counts[at + BYTES_OUT]! += bytesOut;
    counts[at + DURATION_US]! += durationUs;
    this.#latency[cell * LATENCY_BUCKETS + bucket]! += 1;
  }

  /** Another cell's counts (one put back after a failed write) added into this one. */
  addCounts(cell: number, from: UsageCell): void {
    const at = cell * COUNTS;
    const counts = this.#counts;
    counts[at + REQUESTS]! += from.requests;
    counts[at + BYTES_IN]! += from.bytesIn;
    counts[at + BYTES_OUT]! += from.bytesOut;
    counts[at + DURATION_US]! += from.durationUs;
    const base = cell * LATENCY_BUCKETS;
    for (let b = 0; b < LATENCY_BUCKETS; b++) this.#latency[base + b]! += from.latency[b] ?? 0;
  }

  /** The cell as an object (what the store is sent), its counts as they are now; the cell's counts are zeroed. */
  take(cell: number): UsageCell {
    const at = cell * COUNTS;
    const counts = this.#counts;
    const group = this.#groups[this.#groupOf[cell]!]!;
    const base = cell * LATENCY_BUCKETS;
    const taken: UsageCell = {
      minute: counts[at + MINUTE]!,
      apiId: group.apiId,
      route: group.route,
      keyId: this.#keyIds[cell]!,
      appId: this.#appIds[cell]!,
      statusClass: group.statusClass,
      denialCode: group.denialCode,
      requests: counts[at + REQUESTS]!,
      bytesIn: counts[at + BYTES_IN]!,
      bytesOut: counts[at + BYTES_OUT]!,
      durationUs: counts[at + DURATION_US]!,
      latency: Array.from(this.#latency.subarray(base, base + LATENCY_BUCKETS)),
    };
    counts.fill(0, at + REQUESTS, at + COUNTS);
    this.#latency.fill(0, base, base + LATENCY_BUCKETS);
    return taken;
  }

  /** The cells with requests counted since they were last taken. */
  withCounts(): number[] {
    const found: number[] = [];
    for (let cell = 0; cell < this.#size; cell++) if (this.#counts[cell * COUNTS + REQUESTS]! > 0) found.push(cell);
    return found;
  }

  /** Keeps the cells `keep` says to, numbered anew from 0 in their order; the others go. */
  retain(keep: (cell: number) => boolean): void {
    const keyIds: (string | null)[] = [];
    const appIds: (string | null)[] = [];
    let kept = 0;
    for (let cell = 0; cell < this.#size; cell++) {
      if (!keep(cell)) continue;
      this.#counts.copyWithin(kept * COUNTS, cell * COUNTS, (cell + 1) * COUNTS);
      this.#latency.copyWithin(kept * LATENCY_BUCKETS, cell * LATENCY_BUCKETS, (cell + 1) * LATENCY_BUCKETS);
      this.#groupOf[kept] = this.#groupOf[cell]!;
      keyIds.push(this.#keyIds[cell]!);
      appIds.push(this.#appIds[cell]!);
      kept++;
    }
    this.#keyIds = keyIds;
    this.#appIds = appIds;
    this.#size = kept;
    this.#byApi = new Map();
    for (let cell = 0; cell < kept; cell++) this.#index(cell);
  }

  /** Holds nothing, and gives back the columns' memory. */
  clear(): void {
    this.#size = 0;
    this.#counts = new Float64Array(FIRST_CAPACITY * COUNTS);
    this.#latency = new Uint32Array(FIRST_CAPACITY * LATENCY_BUCKETS);
    this.#groupOf = new Uint32Array(FIRST_CAPACITY);
    this.#keyIds = [];
    this.#appIds = [];
    this.#byApi = new Map();
  }

  #matches(cell: number, appId: string | null, denial: string | null, statusClass: StatusClass): boolean {
    const group = this.#groups[this.#groupOf[cell]!]!;
    return group.statusClass === statusClass && group.denialCode === denial && this.#appIds[cell] === appId;
  }

  #groupNumber(apiId: string | null, route: string | null, denialCode: string | null, statusClass: StatusClass): number {
    const name = JSON.stringify([apiId, route, denialCode, statusClass]);
    let number = this.#groupIds.get(name);
    if (number === undefined) {
      number = this.#groups.push({ apiId, route, denialCode, statusClass }) - 1;
      this.#groupIds.set(name, number);
    }
    return number;
  }

  #index(cell: number): void {
    const { apiId, route } = this.#groups[this.#groupOf[cell]!]!;
    let routes = this.#byApi.get(apiId ?? '');
    if (routes === undefined) this.#byApi.set(apiId ?? '', (routes = new Map()));
    let cells = routes.get(route ?? '');
    if (cells === undefined) routes.set(route ?? '', (cells = { byKey: new Map(), byApp: new Map() }));
    const keyId = this.#keyIds[cell]!;
    const byName = keyId === null ? cells.byApp : cells.byKey;
    const name = keyId ?? this.#appIds[cell] ?? '';
    const held = byName.get(name);
    if (held === undefined) byName.set(name, cell);
    else if (typeof held === 'number') byName.set(name, [held, cell]);
    else held.push(cell);
  }

  /** Twice the rows: a copy of each column, made as a cell is added past the last row. */
  #grow(): void {
    const capacity = this.#groupOf.length * 2;
    const counts = new Float64Array(capacity * COUNTS);
    counts.set(this.#counts);
    this.#counts = counts;
    const latency = new Uint32Array(capacity * LATENCY_BUCKETS);
    latency.set(this.#latency);
    this.#latency = latency;
    const groupOf = new Uint32Array(capacity);
    groupOf.set(this.#groupOf);
    this.#groupOf = groupOf;
  }
}
