import type { ApiKey } from '../domain/entities.ts';
import type { PeriodWindow } from '../domain/quota-period.ts';
/**
 * The usage port: what the request path counts (a key's requests and last use, quota use per key
 * lineage or per counter) and what the control plane reads of it before it is stored. The verifier,
 * the gateway and the services hold this interface; UsageRecorder (in memory, flushed to the store in
 * batches) implements it, and a node of several counts its own the same way.
 */
export interface UsageMeter {
  /** One request with a key from `from` (a client address, when known); its quota use counts for the key's lineage. */
  hit(key: UsedKey, now: number, quota: QuotaUse | null, from?: string | null): void;
  /** One use of a quota counted per app or user (an API's own quota), in `period`. */
  count(counter: string, period: string): void;
  /** Counts not yet flushed, so readers can add them to what the store says. */
  pending(keyId: string, lineageId?: string): PendingUsage;
  /** Stores every count made so far: reads after it see them in the store. */
  flush(): Promise<void>;
}

/** The key a request used: its quota use counts for its lineage (domain/entities.ts lineageOf). */
export type UsedKey = Pick<ApiKey, 'id' | 'lineageId'>;

/**
 * The quota a request counts against: the key lineage's counter in the calendar `window` (periodWindow's,
 * shared), held to `limit`. The verifier passes the key's quota check itself, which has both.
 */
export interface QuotaUse {
  window: PeriodWindow;
  limit: number;
}

export interface PendingUsage {
  lastUsedAt: number | null;
  lastUsedFrom: string | null;
  /** Quota use by period. */
  quota: Map<string, number>;
}
