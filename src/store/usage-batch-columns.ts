import type { UsageBatch } from './port.ts';

/**
 * A usage batch as it crosses between threads (a gateway worker to the main thread, the main thread to
 * the store thread): one array per field instead of one object per row.
 * A structured clone of 10,000 keys' rows as objects (keys, quotas, addresses) took 10–12 ms to
 * serialize on the request thread and 24–34 ms to deserialize on the store thread; as columns (strings
 * in arrays, numbers in Float64Arrays) 2–3 ms to build, 3 to serialize and 2.5 to read
 * (docs/benchmarks.md, "eighteenth look").
 * NaN stands for an optional number that is absent, null for an absent address.
 */
export interface UsageBatchColumns {
  keys: { keyId: string[]; day: string[]; requests: Float64Array; lastUsedAt: Float64Array; lastUsedFrom: (string | null)[] };
  quotas: { lineageId: string[]; period: string[]; delta: Float64Array; limit: Float64Array; resetsAt: Float64Array };
  counters: { counter: string[]; period: string[]; delta: Float64Array } | null;
  addresses: { keyId: string[]; address: string[]; firstSeen: Float64Array; lastSeen: Float64Array; requests: Float64Array } | null;
  addressesPerKey: number | null;
  totalsFromPercent: number | null;
}

export function toBatchColumns(batch: UsageBatch): UsageBatchColumns {
  const { keys, quotas, counters, addresses } = batch;
  return {
    keys: {
      keyId: keys.map((k) => k.keyId),
      day: keys.map((k) => k.day),
      requests: numbers(keys, (k) => k.requests),
      lastUsedAt: numbers(keys, (k) => k.lastUsedAt),
      lastUsedFrom: keys.map((k) => k.lastUsedFrom ?? null),
    },
    quotas: {
      lineageId: quotas.map((q) => q.lineageId),
      period: quotas.map((q) => q.period),
      delta: numbers(quotas, (q) => q.delta),
      limit: numbers(quotas, (q) => q.limit ?? NaN),
      resetsAt: numbers(quotas, (q) => q.resetsAt ?? NaN),
    },
    counters: counters ? { counter: counters.map((c) => c.counter), period: counters.map((c) => c.period), delta: numbers(counters, (c) => c.delta) } : null,
    addresses: addresses
      ? {
          keyId: addresses.map((a) => a.keyId),
          address: addresses.map((a) => a.address),
          firstSeen: numbers(addresses, (a) => a.firstSeen),
          lastSeen: numbers(addresses, (a) => a.lastSeen),
          requests: numbers(addresses, (a) => a.requests),
        }
      : null,
    addressesPerKey: batch.addressesPerKey ?? null,
    totalsFromPercent: batch.totalsFromPercent ?? null,
  };
}

/** A field of every row as a Float64Array, filled by index: Float64Array.from's iterator took 4× as long. */
export function numbers<T>(rows: readonly T[], field: (row: T) => number): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = field(rows[i]!);
  return out;
}

export function fromBatchColumns(c: UsageBatchColumns): UsageBatch {
  const batch: UsageBatch = {
    keys: c.keys.keyId.map((keyId, i) => {
      const key: UsageBatch['keys'][number] = { keyId, day: c.keys.day[i]!, requests: c.keys.requests[i]!, lastUsedAt: c.keys.lastUsedAt[i]! };
      const from = c.keys.lastUsedFrom[i]!;
      if (from !== null) key.lastUsedFrom = from;
      return key;
    }),
    quotas: c.quotas.lineageId.map((lineageId, i) => {
      const quota: UsageBatch['quotas'][number] = { lineageId, period: c.quotas.period[i]!, delta: c.quotas.delta[i]! };
      const limit = c.quotas.limit[i]!;
      const resetsAt = c.quotas.resetsAt[i]!;
      if (!Number.isNaN(limit)) quota.limit = limit;
      if (!Number.isNaN(resetsAt)) quota.resetsAt = resetsAt;
      return quota;
    }),
  };
  const { counters, addresses } = c;
  if (counters) batch.counters = counters.counter.map((counter, i) => ({ counter, period: counters.period[i]!, delta: counters.delta[i]! }));
  if (addresses)
    batch.addresses = addresses.keyId.map((keyId, i) => ({
      keyId,
      address: addresses.address[i]!,
      firstSeen: addresses.firstSeen[i]!,
      lastSeen: addresses.lastSeen[i]!,
      requests: addresses.requests[i]!,
    }));
  if (c.addressesPerKey !== null) batch.addressesPerKey = c.addressesPerKey;
  if (c.totalsFromPercent !== null) batch.totalsFromPercent = c.totalsFromPercent;
  return batch;
}
