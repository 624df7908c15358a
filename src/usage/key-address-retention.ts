import type { KeyAddressRepo } from '../store/port.ts';
import type { HealthReporter } from '../telemetry/health.ts';
import { PeriodicTask } from '../telemetry/periodic-task.ts';

/** Health component of the hourly cut: a warning when it fails (addresses are kept a little longer, nothing is lost). */
export const KEY_ADDRESS_RETENTION = 'key-address-retention';

/** Rows deleted per transaction, so retention never holds the write lock for long. */
const PRUNE_PART = 10_000;
const INTERVAL_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface KeyAddressRetentionOptions {
  /** The writer thread, or the store itself when there is no file to share. */
  sink: Pick<KeyAddressRepo, 'deleteSeenBefore'>;
  health: HealthReporter;
  /** An address not seen for this many days is deleted. */
  retentionDays: number;
  clock: () => number;
}

/**
 * Cuts key addresses not seen for `retentionDays`, at start and every hour, a part at a time. Rows
 * of a deleted key go with it (in the store's delete); these are the addresses a live key stopped
 * using, kept long enough for an incident report to name them.
 */
export class KeyAddressRetention {
  readonly #options: KeyAddressRetentionOptions;
  readonly #rounds: PeriodicTask;

  constructor(options: KeyAddressRetentionOptions) {
    if (!Number.isInteger(options.retentionDays) || options.retentionDays < 1) throw new Error('retentionDays must be a positive integer');
    this.#options = options;
    const { health } = options;
    this.#rounds = new PeriodicTask({
      component: KEY_ADDRESS_RETENTION,
      critical: false,
      health,
      intervalMs: INTERVAL_MS,
      atStart: true,
      run: () => this.prune(),
    });
  }

  start(): void {
    this.#rounds.start();
  }

  /** Waits for the round under way: no part may reach the writer after it closes. */
  stop(): Promise<void> {
    return this.#rounds.stop();
  }

  /** Deletes the rows last seen before the retention period; returns how many. */
  async prune(): Promise<number> {
    const before = this.#options.clock() - this.#options.retentionDays * DAY_MS;
    let deleted = 0;
    for (;;) {
      const n = await this.#options.sink.deleteSeenBefore(before, PRUNE_PART);
      deleted += n;
      if (n < PRUNE_PART) return deleted;
    }
  }
}
