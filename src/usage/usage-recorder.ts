import { periodWindow } from '../domain/quota-period.ts';
import type { UsageBatch, UsageRepo } from '../store/port.ts';
import type { HealthReporter } from '../telemetry/health.ts';
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
  #counters = new Map<string, Map<string, { counter: string; period: string; delta: number }>>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(repo: Pick<UsageRepo, 'record'>) {
    this.#repo = repo;
  }

  /** One request with a key; its quota use, if the key has a quota, counts for the key's lineage. */
  hit(keyId: string, now: number, quota: { lineageId: string; period: string } | null, from: string | null = null): void {
    const entry = slot(this.#requests, keyId, periodWindow('day', now).id, newRequestCount);
    entry.requests += 1;
    if (now >= entry.lastUsedAt) {
      entry.lastUsedAt = now;
      if (from !== null) entry.lastUsedFrom = from;
    }
    if (quota !== null) slot(this.#quotas, quota.lineageId, quota.period, newQuotaCount).delta += 1;
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

  /** A failed flush keeps its counts, is logged and makes the node unready until one succeeds. */
  start(intervalMs: number, health: HealthReporter): void {
    this.#timer = setInterval(() => void health.run(USAGE_FLUSH, () => this.flush()), intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  /** Serialised: a flush waits for the previous one so batches never overlap. */
  flush(): Promise<void> {
    // After a failed flush (reported to its own caller) the next one still runs.
    const next = () => this.#flushOnce();
    this.#flushing = this.#flushing.then(next, next);
    return this.#flushing;
  }

  async #flushOnce(): Promise<void> {
    if (this.#requests.size === 0 && this.#quotas.size === 0 && this.#counters.size === 0) return;
    const batch: UsageBatch = { keys: flatten(this.#requests), quotas: flatten(this.#quotas), counters: flatten(this.#counters) };
    this.#requests = new Map();
    this.#quotas = new Map();
    this.#counters = new Map();
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
  }

  #putBack(batch: UsageBatch): void {
    for (const k of batch.keys) this.#addRequests(k);
    for (const q of batch.quotas) this.#addQuota(q);
    for (const c of batch.counters ?? []) slot(this.#counters, c.counter, c.period, (n, p) => ({ counter: n, period: p, delta: 0 })).delta += c.delta;
  }
}

/** Entries (key-days, quota periods, counters) per write: about a millisecond to hand over. */
const MAX_ENTRIES_PER_WRITE = 1000;

function split(batch: UsageBatch, size: number): UsageBatch[] {
  const parts: UsageBatch[] = [];
  let part: UsageBatch = { keys: [], quotas: [], counters: [] };
  let entries = 0;
  const add = (put: (p: UsageBatch) => void) => {
    if (entries === size) {
      parts.push(part);
      part = { keys: [], quotas: [], counters: [] };
      entries = 0;
    }
    put(part);
    entries++;
  };
  for (const k of batch.keys) add((p) => p.keys.push(k));
  for (const q of batch.quotas) add((p) => p.quotas.push(q));
  for (const c of batch.counters ?? []) add((p) => p.counters!.push(c));
  if (entries > 0) parts.push(part);
  return parts;
}
