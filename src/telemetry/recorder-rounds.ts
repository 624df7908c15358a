import type { HealthReporter } from './health.ts';
import { PeriodicTask } from './periodic-task.ts';

/** What a bounded recorder has lost since start (gatehouse_records_lost_total, by reason). */
export interface RecordLosses {
  /** Not kept: the recorder's bound was reached while the store was not keeping up. */
  dropped(): number;
  /** Refused by the store for what they held (not for being unreachable). */
  refused(): number;
  /** Left by a failed last flush at stop. */
  lastFlushLost(): number;
}

export interface RecorderRoundsOptions {
  /** Health components of the flushes and of the retention cut (both warnings: the gateway serves on). */
  component: string;
  retentionComponent: string;
  health: HealthReporter;
  flushIntervalMs: number;
  /** Writes what is held now, one call at a time (serialized). */
  flush: () => Promise<void>;
  /** Deletes what is past retention; run at start and every hour. */
  prune: () => Promise<number>;
  /** The readiness warnings for what was lost since the last round: `n` of the recorder's units. */
  droppedWarning: (n: number) => string;
  refusedWarning: (n: number, refusal: string) => string;
  /** The stop's rejection when its last flush failed and `lost` units went with it. */
  lastFlushFailed: (lost: number, reason: string) => string;
}

const RETENTION_INTERVAL_MS = 3_600_000;

/**
 * The background life of a bounded recorder (the request log, usage analytics): a flush every
 * interval or when triggered, a retention cut at start and hourly, and the count of what it lost. A
 * round that finds something dropped or refused since the last one fails after its flush, so the loss
 * is a readiness warning and a log line, not only a counter. The recorders differ in what they hold
 * and how they write it; this is the part they shared line for line.
 */
export class RecorderRounds implements RecordLosses {
  readonly #options: RecorderRoundsOptions;
  readonly #flushes: PeriodicTask;
  readonly #retention: PeriodicTask;
  #dropped = 0;
  #droppedReported = 0;
  #refused = 0;
  #refusedReported = 0;
  #lastFlushLost = 0;
  /** Why the store last refused something: its message names a column or a constraint, never a value. */
  #refusal = '';

  constructor(options: RecorderRoundsOptions) {
    this.#options = options;
    const { health } = options;
    this.#flushes = new PeriodicTask({ component: options.component, critical: false, health, intervalMs: options.flushIntervalMs, run: () => this.#round() });
    this.#retention = new PeriodicTask({
      component: options.retentionComponent,
      critical: false,
      health,
      intervalMs: RETENTION_INTERVAL_MS,
      atStart: true,
      run: options.prune,
    });
  }

  dropped(): number {
    return this.#dropped;
  }

  refused(): number {
    return this.#refused;
  }

  lastFlushLost(): number {
    return this.#lastFlushLost;
  }

  /** `n` units not kept: the bound was reached. */
  drop(n: number): void {
    this.#dropped += n;
  }

  /** `n` units the store refused for what they held, dropped. */
  refuse(n: number, error: unknown): void {
    this.#refused += n;
    this.#refusal = error instanceof Error ? error.message : String(error);
  }

  /** A flush now, unless one is under way. */
  trigger(): void {
    this.#flushes.trigger();
  }

  start(): void {
    this.#flushes.start();
    this.#retention.start();
  }

  /**
   * Stops the rounds (waiting for those under way), then flushes everything held. If that last flush
   * fails, no later one comes (a gateway worker exits next): `dropAll` drops what it left and answers
   * how many units, counted as lost, and the rejection says how many, for the log.
   */
  async stop(dropAll: () => number): Promise<void> {
    await Promise.all([this.#flushes.stop(), this.#retention.stop()]);
    try {
      await this.#options.flush();
    } catch (error) {
      const lost = dropAll();
      this.#lastFlushLost += lost;
      throw new Error(this.#options.lastFlushFailed(lost, error instanceof Error ? error.message : String(error)), { cause: error });
    }
  }

  async #round(): Promise<void> {
    await this.#options.flush();
    const dropped = this.#dropped - this.#droppedReported;
    this.#droppedReported = this.#dropped;
    const refused = this.#refused - this.#refusedReported;
    this.#refusedReported = this.#refused;
    const problems = [
      ...(dropped > 0 ? [this.#options.droppedWarning(dropped)] : []),
      ...(refused > 0 ? [this.#options.refusedWarning(refused, this.#refusal)] : []),
    ];
    if (problems.length > 0) throw new Error(problems.join('; '));
  }
}
