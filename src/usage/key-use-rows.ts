import { SharedStrings } from '../domain/shared-strings.ts';
import type { KeyAddressUse, UsageBatch } from '../store/port.ts';

export type RequestCount = UsageBatch['keys'][number];
export type QuotaCount = UsageBatch['quotas'][number];

/** The numbers of a row, side by side in one Float64Array. */
const REQUESTS = 0;
const LAST_USED_AT = 1;
const QUOTA_DELTA = 2;
const QUOTA_LIMIT = 3;
const QUOTA_RESETS_AT = 4;
const FIRST_SEEN = 5;
const LAST_SEEN = 6;
const ADDRESS_REQUESTS = 7;
const COLUMNS = 8;
const FIRST_CAPACITY = 1024;

/**
 * What the usage recorder counts per name (a key's id, or its lineage's) between two flushes, as rows
 * of columns: a key's requests on one day, its lineage's quota use in one period, its uses from one
 * client address. Between two flushes a key almost always has one of each, so a row holds that one;
 * a second day, period or address is the caller's to keep elsewhere (each `add…` answers false).
 * Objects per key and part, each with its timestamps boxed, and a Map entry per part cost a hot key
 * about 380 bytes in every gateway thread and again in the main thread; a row here costs about 140,
 * 64 of them outside the JavaScript heap (issue 14, bench/per-key-memory.ts).
 *
 * Rows share one string per day or period, and a row's address with its latest use's: a gateway
 * worker's batch reaches the main thread as copies (structured clone), which would otherwise stay,
 * one per row (issue 14: 14 MB of strings per 100k keys in the main thread's rows).
 *
 * A part is present while its day, period or address is set. `take…` copies a part's counts out and
 * zeroes them, and clears a part found with nothing counted since the last take (an idle key); a row
 * with no part left is freed for another name.
 */
export class KeyUseRows {
  readonly #rowOf = new Map<string, number>();
  readonly #names: (string | undefined)[] = [];
  #numbers = new Float64Array(FIRST_CAPACITY * COLUMNS);
  readonly #days: (string | undefined)[] = [];
  readonly #lastUsedFrom: (string | null)[] = [];
  readonly #periods: (string | undefined)[] = [];
  readonly #addresses: (string | undefined)[] = [];
  readonly #free: number[] = [];
  /** Days and periods: a flush's worth is one or two of each. */
  readonly #shared = new SharedStrings(64);

  /** Names with a row. */
  get size(): number {
    return this.#rowOf.size;
  }

  /**
   * Requests of `keyId` on `day`, the latest at `at` from `from` (null: not known, keeps the row's);
   * false when its row counts another day. `onTie`: whether a use at the row's latest time replaces its
   * address (a new use does; counts put back after a failed flush are older than those made since).
   */
  addRequests(keyId: string, day: string, requests: number, at: number, from: string | null, onTie: boolean): boolean {
    const row = this.#row(keyId);
    const held = this.#days[row];
    if (held !== undefined && held !== day) return false;
    const n = this.#numbers;
    const at0 = row * COLUMNS;
    if (held === undefined) ((this.#days[row] = this.#shared.of(day)), (n[at0 + REQUESTS] = 0), (n[at0 + LAST_USED_AT] = 0), (this.#lastUsedFrom[row] = null));
    n[at0 + REQUESTS] = n[at0 + REQUESTS]! + requests;
    if (at > n[at0 + LAST_USED_AT]! || (onTie && at === n[at0 + LAST_USED_AT])) {
      n[at0 + LAST_USED_AT] = at;
      if (from !== null) this.#lastUsedFrom[row] = from === this.#addresses[row] ? this.#addresses[row] : from;
    }
    return true;
  }

  /** Quota use of `lineageId` in `period`; false when its row counts another period. `limit` 0: not known (leaves the row's). */
  addQuota(lineageId: string, period: string, delta: number, limit: number, resetsAt: number, replaceLimit: boolean): boolean {
    const row = this.#row(lineageId);
    const held = this.#periods[row];
    if (held !== undefined && held !== period) return false;
    const n = this.#numbers;
    const at0 = row * COLUMNS;
    if (held === undefined)
      ((this.#periods[row] = this.#shared.of(period)), (n[at0 + QUOTA_DELTA] = 0), (n[at0 + QUOTA_LIMIT] = 0), (n[at0 + QUOTA_RESETS_AT] = 0));
    n[at0 + QUOTA_DELTA] = n[at0 + QUOTA_DELTA]! + delta;
    if (limit > 0 && (replaceLimit || n[at0 + QUOTA_LIMIT] === 0)) ((n[at0 + QUOTA_LIMIT] = limit), (n[at0 + QUOTA_RESETS_AT] = resetsAt));
    return true;
  }

  /** Whether `keyId`'s row counts uses from `address`. */
  holdsAddress(keyId: string, address: string): boolean {
    const row = this.#rowOf.get(keyId);
    return row !== undefined && this.#addresses[row] === address;
  }

  /** Whether `keyId`'s row counts uses from an address (one, at most). */
  hasAddress(keyId: string): boolean {
    const row = this.#rowOf.get(keyId);
    return row !== undefined && this.#addresses[row] !== undefined;
  }

  /** Uses of `keyId` from `address`; false when its row counts another address. */
  addAddressUse(keyId: string, address: string, firstSeen: number, lastSeen: number, requests: number): boolean {
    const row = this.#row(keyId);
    const held = this.#addresses[row];
    if (held !== undefined && held !== address) return false;
    const n = this.#numbers;
    const at0 = row * COLUMNS;
    if (held === undefined)
      ((this.#addresses[row] = address === this.#lastUsedFrom[row] ? this.#lastUsedFrom[row] : address),
        (n[at0 + FIRST_SEEN] = firstSeen),
        (n[at0 + LAST_SEEN] = lastSeen),
        (n[at0 + ADDRESS_REQUESTS] = 0));
    n[at0 + ADDRESS_REQUESTS] = n[at0 + ADDRESS_REQUESTS]! + requests;
    if (firstSeen < n[at0 + FIRST_SEEN]!) n[at0 + FIRST_SEEN] = firstSeen;
    if (lastSeen > n[at0 + LAST_SEEN]!) n[at0 + LAST_SEEN] = lastSeen;
    return true;
  }

  /** The requests counted for `keyId` since the last take; null when none. */
  pendingRequests(keyId: string): RequestCount | null {
    const row = this.#rowOf.get(keyId);
    if (row === undefined || this.#days[row] === undefined || this.#numbers[row * COLUMNS + REQUESTS] === 0) return null;
    return this.#requestCount(row);
  }

  /** The quota use counted for `lineageId` since the last take; null when none. */
  pendingQuota(lineageId: string): QuotaCount | null {
    const row = this.#rowOf.get(lineageId);
    if (row === undefined || this.#periods[row] === undefined || this.#numbers[row * COLUMNS + QUOTA_DELTA] === 0) return null;
    return this.#quotaCount(row);
  }

  /** Each key's requests since the last take, taken (zeroed) one row at a time as asked for. */
  *takeRequests(): Generator<RequestCount> {
    yield* this.#take(this.#days, REQUESTS, (row) => {
      const taken = this.#requestCount(row);
      // The latest use starts over too: a use without an address (the verify API's) must not send this
      // interval's address again as its own, over a newer one another node wrote since.
      this.#numbers[row * COLUMNS + LAST_USED_AT] = 0;
      this.#lastUsedFrom[row] = null;
      return taken;
    });
  }

  /** Each lineage's quota use since the last take, taken (zeroed) one row at a time as asked for. */
  *takeQuotas(): Generator<QuotaCount> {
    yield* this.#take(this.#periods, QUOTA_DELTA, (row) => this.#quotaCount(row));
  }

  /** The rows' part that `held` names (day or period) and `column` counts: copied and zeroed, or cleared when idle. */
  *#take<T>(held: (string | undefined)[], column: number, copy: (row: number) => T): Generator<T> {
    for (let row = 0; row < this.#names.length; row++) {
      if (held[row] === undefined) continue;
      if (this.#numbers[row * COLUMNS + column] === 0) {
        held[row] = undefined;
        this.#freeIfEmpty(row);
        continue;
      }
      const taken = copy(row);
      this.#numbers[row * COLUMNS + column] = 0;
      yield taken;
    }
  }

  /** Each key's uses from its row's address, taken whole (the per-key cap counts one interval's addresses). */
  *takeAddresses(): Generator<KeyAddressUse> {
    for (let row = 0; row < this.#names.length; row++) {
      const address = this.#addresses[row];
      if (address === undefined) continue;
      const at0 = row * COLUMNS;
      const n = this.#numbers;
      const taken: KeyAddressUse = {
        keyId: this.#names[row]!,
        address,
        firstSeen: n[at0 + FIRST_SEEN]!,
        lastSeen: n[at0 + LAST_SEEN]!,
        requests: n[at0 + ADDRESS_REQUESTS]!,
      };
      this.#addresses[row] = undefined;
      this.#freeIfEmpty(row);
      yield taken;
    }
  }

  #requestCount(row: number): RequestCount {
    const at0 = row * COLUMNS;
    return {
      keyId: this.#names[row]!,
      day: this.#days[row]!,
      requests: this.#numbers[at0 + REQUESTS]!,
      lastUsedAt: this.#numbers[at0 + LAST_USED_AT]!,
      lastUsedFrom: this.#lastUsedFrom[row] ?? null,
    };
  }

  #quotaCount(row: number): QuotaCount {
    const at0 = row * COLUMNS;
    return {
      lineageId: this.#names[row]!,
      period: this.#periods[row]!,
      delta: this.#numbers[at0 + QUOTA_DELTA]!,
      limit: this.#numbers[at0 + QUOTA_LIMIT]!,
      resetsAt: this.#numbers[at0 + QUOTA_RESETS_AT]!,
    };
  }

  /** The row of `name`, made (or reused) when it has none. */
  #row(name: string): number {
    const found = this.#rowOf.get(name);
    if (found !== undefined) return found;
    let row = this.#free.pop();
    if (row === undefined) {
      row = this.#names.length;
      if ((row + 1) * COLUMNS > this.#numbers.length) {
        const grown = new Float64Array(this.#numbers.length * 2);
        grown.set(this.#numbers);
        this.#numbers = grown;
      }
      this.#names.push(name);
      this.#days.push(undefined);
      this.#lastUsedFrom.push(null);
      this.#periods.push(undefined);
      this.#addresses.push(undefined);
    } else this.#names[row] = name;
    this.#rowOf.set(name, row);
    return row;
  }

  #freeIfEmpty(row: number): void {
    if (this.#days[row] !== undefined || this.#periods[row] !== undefined || this.#addresses[row] !== undefined) return;
    this.#rowOf.delete(this.#names[row]!);
    this.#names[row] = undefined;
    this.#lastUsedFrom[row] = null;
    this.#free.push(row);
  }
}
