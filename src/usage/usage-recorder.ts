import { periodWindow } from '../domain/quota-period.ts';
import { ADDRESSES_PER_KEY, OTHER_ADDRESSES, type KeyAddressUse, type QuotaTotal, type UsageBatch, type UsageRepo } from '../store/port.ts';
import type { HealthReporter } from '../telemetry/health.ts';
import { PeriodicTask, serialized } from '../telemetry/periodic-task.ts';
import { lineageOf } from '../domain/entities.ts';
import type { PendingUsage, QuotaUse, UsageMeter, UsedKey } from './port.ts';
import { KeyUseRows, type QuotaCount, type RequestCount } from './key-use-rows.ts';

export const USAGE_FLUSH = 'usage-flush';

/**
 * Counts usage in memory on the request path and flushes it to the store in batches, so no request
 * waits on a database write. A failed flush puts its counts back for the next one.
 */
const newRequestCount = (keyId: string, day: string): RequestCount => ({ keyId, day, requests: 0, lastUsedAt: 0, lastUsedFrom: null });
// limit 0: not known yet (a count put back from a batch that had none).
const newQuotaCount = (lineageId: string, period: string): QuotaCount => ({ lineageId, period, delta: 0, limit: 0, resetsAt: 0 });
type CounterCount = NonNullable<UsageBatch['counters']>[number];
const newCounterCount = (counter: string, period: string): CounterCount => ({ counter, period, delta: 0 });
const newRequests = () => new Slots<RequestCount>((c) => c.day);
const newQuotas = () => new Slots<QuotaCount>((c) => c.period);
const newCounters = () => new Slots<CounterCount>((c) => c.period);
const newAddresses = () => new Slots<KeyAddressUse>((a) => a.address);

/**
 * Counts by two names (key and day, lineage and period, key and address, counter and period): the
 * counters', and those of a key's second day, period or address between two flushes (KeyUseRows holds
 * the first). The outer Map holds one entry itself and makes an inner Map only for a second. Two Map
 * lookups at most, no string building, per request.
 */
class Slots<T> {
  readonly #innerOf: (entry: T) => string;
  readonly #byOuter = new Map<string, T | Map<string, T>>();

  constructor(innerOf: (entry: T) => string) {
    this.#innerOf = innerOf;
  }

  get size(): number {
    return this.#byOuter.size;
  }

  get(outer: string, inner: string): T | undefined {
    const found = this.#byOuter.get(outer);
    if (found === undefined) return undefined;
    if (found instanceof Map) return found.get(inner);
    return this.#innerOf(found) === inner ? found : undefined;
  }

  slot(outer: string, inner: string, create: (outer: string, inner: string) => T): T {
    const found = this.#byOuter.get(outer);
    if (found === undefined) {
      const entry = create(outer, inner);
      this.#byOuter.set(outer, entry);
      return entry;
    }
    if (found instanceof Map) {
      let entry = found.get(inner);
      if (entry === undefined) found.set(inner, (entry = create(outer, inner)));
      return entry;
    }
    if (this.#innerOf(found) === inner) return found;
    const entry = create(outer, inner);
    this.#byOuter.set(
      outer,
      new Map([
        [this.#innerOf(found), found],
        [inner, entry],
      ]),
    );
    return entry;
  }

  /** Entries under `outer`. */
  count(outer: string): number {
    const found = this.#byOuter.get(outer);
    return found === undefined ? 0 : found instanceof Map ? found.size : 1;
  }

  values(outer: string): T[] {
    const found = this.#byOuter.get(outer);
    return found === undefined ? [] : found instanceof Map ? [...found.values()] : [found];
  }

  *entries(): Generator<T> {
    for (const found of this.#byOuter.values()) {
      if (found instanceof Map) yield* found.values();
      else yield found;
    }
  }

  /**
   * What `take` makes of each entry (a copy of its counts, which it zeroes), one at a time as asked
   * for; an entry `take` finds idle (null: nothing counted since the last flush) is dropped. The
   * entries in use stay, to be counted into again: see UsageRecorder#flushOnce.
   */
  *drain(take: (entry: T) => T | null): Generator<T> {
    for (const [outer, found] of this.#byOuter) {
      if (!(found instanceof Map)) {
        const copy = take(found);
        if (copy === null) this.#byOuter.delete(outer);
        else yield copy;
        continue;
      }
      for (const [inner, entry] of found) {
        const copy = take(entry);
        if (copy === null) found.delete(inner);
        else yield copy;
      }
      if (found.size === 0) this.#byOuter.delete(outer);
    }
  }
}

/**
 * A flush's take of one entry: a copy of its counts, the entry zeroed; null when it has none. The
 * entry keeps a quota's limit, which the next use replaces.
 */
const takeRequests = (e: RequestCount): RequestCount | null => {
  if (e.requests === 0) return null;
  const copy = { ...e };
  // The latest use starts over with the count (KeyUseRows.takeRequests says why).
  e.requests = 0;
  e.lastUsedAt = 0;
  e.lastUsedFrom = null;
  return copy;
};
const takeDelta = <C extends { delta: number }>(e: C): C | null => {
  if (e.delta === 0) return null;
  const copy = { ...e };
  e.delta = 0;
  return copy;
};

export class UsageRecorder implements UsageMeter {
  readonly #repo: Pick<UsageRepo, 'record'>;
  /** Each key's requests, quota use and uses from one address: one row per key (KeyUseRows). */
  #rows = new KeyUseRows();
  // What a key's row has no room for (a second day, quota period or address), by key or lineage, then day, period or address.
  #requests = newRequests();
  #quotas = newQuotas();
  #counters = newCounters();
  readonly #flushed: ((batch: UsageBatch, totals: readonly QuotaTotal[]) => void)[] = [];
  /** The part of a flush being written, whose counts are neither here nor in the store until it answers (see pending). */
  #writing: UsageBatch | null = null;
  /** The totals the listeners need (UsageBatch.totalsFromPercent); none until one asks (Infinity: no lineage reaches it). */
  #totalsFromPercent: number | undefined = Infinity;
  #addresses = newAddresses();
  readonly #addressesPerKey: number;
  #task: PeriodicTask | null = null;
  #dropped = 0;
  #droppedCounterUses = 0;

  /** `addressesPerKey`: client addresses counted per key between flushes, and kept per key by the store. */
  constructor(repo: Pick<UsageRepo, 'record'>, options: { addressesPerKey?: number } = {}) {
    this.#repo = repo;
    this.#addressesPerKey = options.addressesPerKey ?? ADDRESSES_PER_KEY;
    if (!Number.isInteger(this.#addressesPerKey) || this.#addressesPerKey < 1) throw new Error('addressesPerKey must be a positive integer');
  }

  /** One request with a key; its quota use, if the key has a quota, counts for the key's lineage. */
  hit(key: UsedKey, now: number, quota: QuotaUse | null, from: string | null = null): void {
    const keyId = key.id;
    this.#addRequests(keyId, periodWindow('day', now).id, 1, now, from, true);
    if (from !== null) this.#countAddress(keyId, from, now, now, 1);
    if (quota !== null) this.#addQuota(lineageOf(key), quota.window.id, 1, quota.limit, quota.window.end, true);
  }

  /**
   * Uses of a key from one address. A key called from more than `addressesPerKey` addresses between
   * two flushes counts the uses from the rest on its OTHER_ADDRESSES entry: memory stays bounded by
   * the cap per key used, and every request is still counted. (The entry is made only once the cap
   * is reached, so the cap's addresses are always the first ones seen.)
   */
  #countAddress(keyId: string, address: string, firstSeen: number, lastSeen: number, requests: number): void {
    let counted = address;
    if (!this.#rows.holdsAddress(keyId, address) && this.#addresses.get(keyId, address) === undefined) {
      const held = (this.#rows.hasAddress(keyId) ? 1 : 0) + this.#addresses.count(keyId);
      if (held >= this.#addressesPerKey) counted = OTHER_ADDRESSES;
    }
    if (this.#rows.addAddressUse(keyId, counted, firstSeen, lastSeen, requests)) return;
    const entry = this.#addresses.slot(keyId, counted, () => ({ keyId, address: counted, firstSeen, lastSeen, requests: 0 }));
    entry.requests += requests;
    if (firstSeen < entry.firstSeen) entry.firstSeen = firstSeen;
    if (lastSeen > entry.lastSeen) entry.lastSeen = lastSeen;
  }

  /** One use of a quota counted per app or user (an API's own quota), in `period`. */
  count(counter: string, period: string): void {
    this.#counters.slot(counter, period, newCounterCount).delta += 1;
  }

  /** Counts made elsewhere (a gateway worker's batch), added to these and flushed with them. */
  merge(batch: UsageBatch): void {
    this.#putBack(batch, true);
  }

  /** `onTie`: whether a use at the latest time counted replaces its address (see KeyUseRows.addRequests). */
  #addRequests(keyId: string, day: string, requests: number, at: number, from: string | null, onTie: boolean): void {
    if (this.#rows.addRequests(keyId, day, requests, at, from, onTie)) return;
    const entry = this.#requests.slot(keyId, day, newRequestCount);
    entry.requests += requests;
    if (at > entry.lastUsedAt || (onTie && at === entry.lastUsedAt)) {
      entry.lastUsedAt = at;
      if (from !== null) entry.lastUsedFrom = from;
    }
  }

  /** `replaceLimit`: whether `limit` (0: not known) replaces the one held (a new use's, or a worker's batch's, is as recent as any). */
  #addQuota(lineageId: string, period: string, delta: number, limit: number, resetsAt: number, replaceLimit: boolean): void {
    if (this.#rows.addQuota(lineageId, period, delta, limit, resetsAt, replaceLimit)) return;
    const count = this.#quotas.slot(lineageId, period, newQuotaCount);
    count.delta += delta;
    if (limit > 0 && (replaceLimit || count.limit === 0)) ((count.limit = limit), (count.resetsAt = resetsAt));
  }

  /** Counts not yet flushed, so readers can add them to what the store says. */
  pending(keyId: string, lineageId = keyId): PendingUsage {
    let lastUsedAt: number | null = null;
    let lastUsedFrom: string | null = null;
    const inRow = this.#rows.pendingRequests(keyId);
    for (const entry of inRow === null ? this.#requests.values(keyId) : [inRow, ...this.#requests.values(keyId)]) {
      // An entry with no requests was flushed already (it stays, to be counted into again).
      if (entry.requests > 0 && entry.lastUsedAt >= (lastUsedAt ?? 0)) ((lastUsedAt = entry.lastUsedAt), (lastUsedFrom = entry.lastUsedFrom ?? lastUsedFrom));
    }
    const quota = new Map<string, number>();
    const add = (period: string, delta: number) => void quota.set(period, (quota.get(period) ?? 0) + delta);
    const quotaInRow = this.#rows.pendingQuota(lineageId);
    if (quotaInRow !== null) add(quotaInRow.period, quotaInRow.delta);
    for (const entry of this.#quotas.values(lineageId)) if (entry.delta > 0) add(entry.period, entry.delta);
    // The part a flush is writing left the rows and is not in the store until the write answers: still
    // pending (a rotated key's drain check must not read its one recent use as none). A part is at most
    // MAX_ENTRIES_PER_WRITE entries, and only control-plane reads ask.
    const writing = this.#writing;
    if (writing !== null) {
      for (const k of writing.keys) {
        if (k.keyId !== keyId) continue;
        // An older use's address still names the latest one known when the newer uses had none.
        if (k.lastUsedAt > (lastUsedAt ?? 0)) ((lastUsedAt = k.lastUsedAt), (lastUsedFrom = k.lastUsedFrom ?? lastUsedFrom));
        else lastUsedFrom ??= k.lastUsedFrom ?? null;
      }
      for (const q of writing.quotas) if (q.lineageId === lineageId && q.delta > 0) add(q.period, q.delta);
    }
    return { lastUsedAt, lastUsedFrom, quota };
  }

  /**
   * Told of each batch once it is written, with the quota totals the store answered and the batch's
   * quota uses of those lineages (its `keys` are left empty: no listener reads them), on this thread
   * (quota thresholds are checked then, off the request path, with no read of their own). With
   * `totalsFromPercent`, the listener needs only the totals at or past that percent of their limit
   * (UsageBatch.totalsFromPercent); the store is asked for what every listener needs.
   */
  onFlushed(listener: (batch: UsageBatch, totals: readonly QuotaTotal[]) => void, totalsFromPercent?: number): void {
    this.#flushed.push(listener);
    const wanted = this.#totalsFromPercent;
    this.#totalsFromPercent = totalsFromPercent === undefined || wanted === undefined ? undefined : Math.min(wanted, totalsFromPercent);
  }

  /**
   * A failed flush keeps its counts (merged by key and day, so memory grows with the keys used, not
   * with requests), is logged and makes the node unready until one succeeds; `critical` false (gateway
   * nodes, which serve on while the store is away) makes it a warning instead.
   */
  start(intervalMs: number, health: HealthReporter, critical = true): void {
    this.#task = new PeriodicTask({ component: USAGE_FLUSH, critical, health, intervalMs, run: () => this.flush() });
    this.#task.start();
  }

  /**
   * Waits for the background flush under way, then flushes what is left. If that last flush fails, no
   * later one comes (a gateway worker exits next): what it left is dropped and counted (`dropped()`,
   * and `droppedCounterUses()` for the per-app and per-user quota counts), and the rejection says how
   * many, for the log.
   */
  async stop(): Promise<void> {
    await this.#task?.stop();
    try {
      await this.flush();
    } catch (error) {
      const { requests, counterUses } = this.#dropAll();
      const counted = counterUses > 0 ? ` and ${counterUses} per-app or per-user quota uses` : '';
      throw new Error(
        `${requests} requests${counted} not counted in usage: their last flush failed (${error instanceof Error ? error.message : String(error)})`,
        { cause: error },
      );
    }
  }

  /** Requests whose usage a failed last flush at stop left, dropped. */
  dropped(): number {
    return this.#dropped;
  }

  /**
   * Uses of per-app and per-user quota counters (`count()`) a failed last flush at stop left, dropped:
   * apart from `dropped()`, as one request may count against several counters, or (a bearer token
   * without a key) against counters only.
   */
  droppedCounterUses(): number {
    return this.#droppedCounterUses;
  }

  /** Serialised: a flush waits for the previous one so batches never overlap; after a failed one the next still runs. */
  readonly flush = serialized(() => this.#flushOnce());

  /**
   * The entries of keys in use stay from one flush to the next: a flush takes a copy of each one's
   * counts and zeroes it, and drops those with nothing counted since the last (idle keys). Made anew
   * every flush, thousands of them would live until the next, long enough to be moved to the old
   * generation, and the scavenges that move them hold the event loop (issue 14). A key's addresses
   * are still taken whole: the per-key cap counts the addresses of one interval.
   */
  async #flushOnce(): Promise<void> {
    if (this.#rows.size === 0 && this.#requests.size === 0 && this.#quotas.size === 0 && this.#counters.size === 0 && this.#addresses.size === 0) return;
    const addresses = this.#addresses.entries();
    this.#addresses = newAddresses();
    const taken: Taken = {
      keys: chain(this.#rows.takeRequests(), this.#requests.drain(takeRequests)),
      quotas: chain(this.#rows.takeQuotas(), this.#quotas.drain(takeDelta)),
      counters: this.#counters.drain(takeDelta),
      addresses: chain(this.#rows.takeAddresses(), addresses),
    };
    // In parts made as they are written, so neither gathering the counts nor handing one part to the
    // writer (a structured clone) holds the event loop for long with many keys; a part that fails
    // puts back its counts and those of the parts not yet written.
    const parts = batchParts(taken, this.#addressesPerKey, MAX_ENTRIES_PER_WRITE, this.#totalsFromPercent);
    // What the listeners are told: the totals, and the quota uses of their lineages only. Every part's
    // entries kept to the end of the flush would outlive scavenges with thousands of keys (issue 14).
    const written: UsageBatch = { keys: [], quotas: [] };
    const totals: QuotaTotal[] = [];
    for (const part of parts) {
      let answered: QuotaTotal[];
      this.#writing = part;
      try {
        answered = await this.#repo.record(part);
      } catch (error) {
        this.#writing = null;
        this.#putBack(part);
        for (const rest of parts) this.#putBack(rest);
        throw error;
      }
      this.#writing = null;
      if (answered.length === 0 || this.#flushed.length === 0) continue;
      const lineages = new Set<string>();
      for (const total of answered) (totals.push(total), lineages.add(total.lineageId));
      for (const q of part.quotas) if (lineages.has(q.lineageId)) written.quotas.push(q);
    }
    for (const listener of this.#flushed) listener(written, totals);
  }

  /** Drops every count held (after a failed last flush) and counts its requests and counter uses as dropped; answers how many. */
  #dropAll(): { requests: number; counterUses: number } {
    let lost = 0;
    for (const k of chain(this.#rows.takeRequests(), this.#requests.entries())) lost += k.requests;
    let counterUses = 0;
    for (const c of this.#counters.entries()) counterUses += c.delta;
    this.#rows = new KeyUseRows();
    this.#requests = newRequests();
    this.#quotas = newQuotas();
    this.#counters = newCounters();
    this.#addresses = newAddresses();
    this.#dropped += lost;
    this.#droppedCounterUses += counterUses;
    return { requests: lost, counterUses };
  }

  #putBack(batch: UsageBatch, newer = false): void {
    for (const k of batch.keys) this.#addRequests(k.keyId, k.day, k.requests, k.lastUsedAt, k.lastUsedFrom ?? null, false);
    for (const q of batch.quotas) this.#addQuota(q.lineageId, q.period, q.delta, q.limit ?? 0, q.resetsAt ?? 0, newer);
    for (const c of batch.counters ?? []) this.#counters.slot(c.counter, c.period, newCounterCount).delta += c.delta;
    for (const a of batch.addresses ?? []) this.#countAddress(a.keyId, a.address, a.firstSeen, a.lastSeen, a.requests);
  }
}

function* chain<T>(first: Iterable<T>, second: Iterable<T>): Generator<T> {
  yield* first;
  yield* second;
}

/** Entries (key-days, quota periods, counters, key addresses) per write: about a millisecond to hand over. */
const MAX_ENTRIES_PER_WRITE = 1000;

/** The counts a flush takes, each entry taken as its part is made. */
interface Taken {
  keys: Iterable<RequestCount>;
  quotas: Iterable<QuotaCount>;
  counters: Iterable<CounterCount>;
  addresses: Iterable<KeyAddressUse>;
}

/** The counts taken for a flush, in parts of `size` entries, each made when the previous one is written. */
function* batchParts(taken: Taken, addressesPerKey: number, size: number, totalsFromPercent: number | undefined): Generator<UsageBatch> {
  const empty = (): UsageBatch => ({
    keys: [],
    quotas: [],
    counters: [],
    addresses: [],
    addressesPerKey,
    ...(totalsFromPercent === undefined ? {} : { totalsFromPercent }),
  });
  let part = empty();
  let entries = 0;
  function* fill<T>(from: Iterable<T>, into: (p: UsageBatch) => T[]): Generator<UsageBatch> {
    for (const entry of from) {
      into(part).push(entry);
      if (++entries === size) {
        yield part;
        part = empty();
        entries = 0;
      }
    }
  }
  yield* fill(taken.keys, (p) => p.keys);
  yield* fill(taken.quotas, (p) => p.quotas);
  yield* fill(taken.counters, (p) => p.counters!);
  yield* fill(taken.addresses, (p) => p.addresses!);
  if (entries > 0) yield part;
}
