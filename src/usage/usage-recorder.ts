import { periodWindow } from '../domain/quota-period.ts';
import { ADDRESSES_PER_KEY, OTHER_ADDRESSES, type KeyAddressUse, type UsageBatch, type UsageRepo } from '../store/port.ts';
import type { HealthReporter } from '../telemetry/health.ts';
import { PeriodicTask, serialized } from '../telemetry/periodic-task.ts';
import type { PendingUsage, UsageMeter } from './port.ts';

export const USAGE_FLUSH = 'usage-flush';

/**
 * Counts usage in memory on the request path and flushes it to the store in batches, so no request
 * waits on a database write. A failed flush puts its counts back for the next one.
 */
type RequestCount = UsageBatch['keys'][number];
type QuotaCount = UsageBatch['quotas'][number];

const newRequestCount = (keyId: string, day: string): RequestCount => ({ keyId, day, requests: 0, lastUsedAt: 0, lastUsedFrom: null });
const newQuotaCount = (lineageId: string, period: string): QuotaCount => ({ lineageId, period, delta: 0 });

function slot<T>(map: Map<string, Map<string, T>>, outer: string, inner: string, create: (outer: string, inner: string) => T): T {
  let byInner = map.get(outer);
  if (!byInner) map.set(outer, (byInner = new Map()));
  let entry = byInner.get(inner);
  if (!entry) byInner.set(inner, (entry = create(outer, inner)));
  return entry;
}

function flatten<T>(map: Map<string, Map<string, T>>): T[] {
  return [...map.values()].flatMap((inner) => [...inner.values()]);
}

export class UsageRecorder implements UsageMeter {
  readonly #repo: Pick<UsageRepo, 'record'>;
  // keyId -> day or period -> counts: two Map lookups and no string building per request.
  #requests = new Map<string, Map<string, RequestCount>>();
  #quotas = new Map<string, Map<string, QuotaCount>>();
  readonly #flushed: ((batch: UsageBatch) => void)[] = [];
  #counters = new Map<string, Map<string, { counter: string; period: string; delta: number }>>();
  // keyId -> client address -> uses since the last flush (store/port.ts KeyAddressUse).
  #addresses = new Map<string, Map<string, KeyAddressUse>>();
  readonly #addressesPerKey: number;
  #task: PeriodicTask | null = null;

  /** `addressesPerKey`: client addresses counted per key between flushes, and kept per key by the store. */
  constructor(repo: Pick<UsageRepo, 'record'>, options: { addressesPerKey?: number } = {}) {
    this.#repo = repo;
    this.#addressesPerKey = options.addressesPerKey ?? ADDRESSES_PER_KEY;
    if (!Number.isInteger(this.#addressesPerKey) || this.#addressesPerKey < 1) throw new Error('addressesPerKey must be a positive integer');
  }

  /** One request with a key; its quota use, if the key has a quota, counts for the key's lineage. */
  hit(keyId: string, now: number, quota: { lineageId: string; period: string } | null, from: string | null = null): void {
    const entry = slot(this.#requests, keyId, periodWindow('day', now).id, newRequestCount);
    entry.requests += 1;
    if (now >= entry.lastUsedAt) {
      entry.lastUsedAt = now;
      if (from !== null) entry.lastUsedFrom = from;
    }
    if (from !== null) this.#countAddress(keyId, from, now, now, 1);
    if (quota !== null) slot(this.#quotas, quota.lineageId, quota.period, newQuotaCount).delta += 1;
  }

  /**
   * Uses of a key from one address. A key called from more than `addressesPerKey` addresses between
   * two flushes counts the uses from the rest on its OTHER_ADDRESSES entry: memory stays bounded by
   * the cap per key used, and every request is still counted. (The entry is made only once the cap
   * is reached, so the cap's addresses are always the first ones seen.)
   */
  #countAddress(keyId: string, address: string, firstSeen: number, lastSeen: number, requests: number): void {
    let byAddress = this.#addresses.get(keyId);
    if (!byAddress) this.#addresses.set(keyId, (byAddress = new Map()));
    let entry = byAddress.get(address);
    if (!entry) {
      const counted = byAddress.size >= this.#addressesPerKey ? OTHER_ADDRESSES : address;
      entry = byAddress.get(counted);
      if (!entry) byAddress.set(counted, (entry = { keyId, address: counted, firstSeen, lastSeen, requests: 0 }));
    }
    entry.requests += requests;
    if (firstSeen < entry.firstSeen) entry.firstSeen = firstSeen;
    if (lastSeen > entry.lastSeen) entry.lastSeen = lastSeen;
  }

  /** One use of a quota counted per app or user (an API's own quota), in `period`. */
  count(counter: string, period: string): void {
    slot(this.#counters, counter, period, (c, p) => ({ counter: c, period: p, delta: 0 })).delta += 1;
  }

  /** Counts made elsewhere (a gateway worker's batch), added to these and flushed with them. */
  merge(batch: UsageBatch): void {
    this.#putBack(batch);
  }

  /** Uses of a counter not yet flushed. */
  pendingCount(counter: string, period: string): number {
    return this.#counters.get(counter)?.get(period)?.delta ?? 0;
  }

  #addRequests(add: RequestCount): void {
    const entry = slot(this.#requests, add.keyId, add.day, newRequestCount);
    entry.requests += add.requests;
    // Put back after a failed flush: counts made since are newer, so they keep their address.
    if (add.lastUsedAt > entry.lastUsedAt) {
      entry.lastUsedAt = add.lastUsedAt;
      entry.lastUsedFrom = add.lastUsedFrom ?? entry.lastUsedFrom ?? null;
    }
  }

  #addQuota(add: QuotaCount): void {
    slot(this.#quotas, add.lineageId, add.period, newQuotaCount).delta += add.delta;
  }

  /** Counts not yet flushed, so readers can add them to what the store says. */
  pending(keyId: string, lineageId = keyId): PendingUsage {
    let lastUsedAt: number | null = null;
    let lastUsedFrom: string | null = null;
    for (const entry of this.#requests.get(keyId)?.values() ?? []) {
      if (entry.lastUsedAt >= (lastUsedAt ?? 0)) ((lastUsedAt = entry.lastUsedAt), (lastUsedFrom = entry.lastUsedFrom ?? lastUsedFrom));
    }
    const quota = new Map<string, number>();
    for (const entry of this.#quotas.get(lineageId)?.values() ?? []) quota.set(entry.period, entry.delta);
    return { lastUsedAt, lastUsedFrom, quota };
  }

  /** Told of each batch once it is written, on this thread (quota thresholds are checked then, off the request path). */
  onFlushed(listener: (batch: UsageBatch) => void): void {
    this.#flushed.push(listener);
  }

  /** A failed flush keeps its counts, is logged and makes the node unready until one succeeds. */
  start(intervalMs: number, health: HealthReporter): void {
    this.#task = new PeriodicTask({ component: USAGE_FLUSH, critical: true, health, intervalMs, run: () => this.flush() });
    this.#task.start();
  }

  /** Waits for the background flush under way, then flushes what is left. */
  async stop(): Promise<void> {
    await this.#task?.stop();
    await this.flush();
  }

  /** Serialised: a flush waits for the previous one so batches never overlap; after a failed one the next still runs. */
  readonly flush = serialized(() => this.#flushOnce());

  async #flushOnce(): Promise<void> {
    if (this.#requests.size === 0 && this.#quotas.size === 0 && this.#counters.size === 0 && this.#addresses.size === 0) return;
    const batch: UsageBatch = {
      keys: flatten(this.#requests),
      quotas: flatten(this.#quotas),
      counters: flatten(this.#counters),
      addresses: flatten(this.#addresses),
      addressesPerKey: this.#addressesPerKey,
    };
    this.#requests = new Map();
    this.#quotas = new Map();
    this.#counters = new Map();
    this.#addresses = new Map();
    // In parts, so handing one to the writer (a structured clone) never holds the event loop for long;
    // a part that fails puts back its counts and those of the parts not yet written.
    const parts = split(batch, MAX_ENTRIES_PER_WRITE);
    for (let i = 0; i < parts.length; i++) {
      try {
        await this.#repo.record(parts[i]!);
      } catch (error) {
        for (const part of parts.slice(i)) this.#putBack(part);
        throw error;
      }
    }
    for (const listener of this.#flushed) listener(batch);
  }

  #putBack(batch: UsageBatch): void {
    for (const k of batch.keys) this.#addRequests(k);
    for (const q of batch.quotas) this.#addQuota(q);
    for (const c of batch.counters ?? []) slot(this.#counters, c.counter, c.period, (n, p) => ({ counter: n, period: p, delta: 0 })).delta += c.delta;
    for (const a of batch.addresses ?? []) this.#countAddress(a.keyId, a.address, a.firstSeen, a.lastSeen, a.requests);
  }
}

/** Entries (key-days, quota periods, counters, key addresses) per write: about a millisecond to hand over. */
const MAX_ENTRIES_PER_WRITE = 1000;

function split(batch: UsageBatch, size: number): UsageBatch[] {
  const parts: UsageBatch[] = [];
  const empty = (): UsageBatch => ({
    keys: [],
    quotas: [],
    counters: [],
    addresses: [],
    ...(batch.addressesPerKey ? { addressesPerKey: batch.addressesPerKey } : {}),
  });
  let part = empty();
  let entries = 0;
  const add = (put: (p: UsageBatch) => void) => {
    if (entries === size) {
      parts.push(part);
      part = empty();
      entries = 0;
    }
    put(part);
    entries++;
  };
  for (const k of batch.keys) add((p) => p.keys.push(k));
  for (const q of batch.quotas) add((p) => p.quotas.push(q));
  for (const c of batch.counters ?? []) add((p) => p.counters!.push(c));
  for (const a of batch.addresses ?? []) add((p) => p.addresses!.push(a));
  if (entries > 0) parts.push(part);
  return parts;
}
