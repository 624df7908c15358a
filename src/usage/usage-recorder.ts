import { periodWindow } from '../domain/quota-period.ts';
import type { UsageBatch, UsageRepo } from '../store/port.ts';

/**
 * Counts usage in memory on the request path and flushes it to the store in batches, so no request
 * waits on a database write. A failed flush puts its counts back for the next one.
 */
export class UsageRecorder {
  readonly #repo: UsageRepo;
  #requests = new Map<string, { keyId: string; day: string; requests: number; lastUsedAt: number }>();
  #quotas = new Map<string, { keyId: string; period: string; delta: number }>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(repo: UsageRepo) {
    this.#repo = repo;
  }

  hit(keyId: string, now: number, quotaPeriod: string | null): void {
    this.#addRequests({ keyId, day: periodWindow('day', now).id, requests: 1, lastUsedAt: now });
    if (quotaPeriod !== null) this.#addQuota({ keyId, period: quotaPeriod, delta: 1 });
  }

  #addRequests(add: { keyId: string; day: string; requests: number; lastUsedAt: number }): void {
    const entry = this.#requests.get(`${add.keyId}|${add.day}`);
    if (!entry) this.#requests.set(`${add.keyId}|${add.day}`, { ...add });
    else (entry.requests += add.requests), (entry.lastUsedAt = Math.max(entry.lastUsedAt, add.lastUsedAt));
  }

  #addQuota(add: { keyId: string; period: string; delta: number }): void {
    const entry = this.#quotas.get(`${add.keyId}|${add.period}`);
    if (!entry) this.#quotas.set(`${add.keyId}|${add.period}`, { ...add });
    else entry.delta += add.delta;
  }

  /** Counts not yet flushed, so readers can add them to what the store says. */
  pending(keyId: string): { lastUsedAt: number | null; quota: Map<string, number> } {
    let lastUsedAt: number | null = null;
    const quota = new Map<string, number>();
    for (const entry of this.#requests.values()) {
      if (entry.keyId === keyId) lastUsedAt = Math.max(lastUsedAt ?? 0, entry.lastUsedAt);
    }
    for (const entry of this.#quotas.values()) if (entry.keyId === keyId) quota.set(entry.period, entry.delta);
    return { lastUsedAt, quota };
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.flush().catch(() => {}), intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  /** Serialised: a flush waits for the previous one so batches never overlap. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.catch(() => {}).then(() => this.#flushOnce());
    return this.#flushing;
  }

  async #flushOnce(): Promise<void> {
    if (this.#requests.size === 0 && this.#quotas.size === 0) return;
    const batch: UsageBatch = { keys: [...this.#requests.values()], quotas: [...this.#quotas.values()] };
    this.#requests = new Map();
    this.#quotas = new Map();
    try {
      await this.#repo.record(batch);
    } catch (error) {
      for (const k of batch.keys) this.#addRequests(k);
      for (const q of batch.quotas) this.#addQuota(q);
      throw error;
    }
  }
}
