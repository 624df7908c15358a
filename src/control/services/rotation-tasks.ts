import { setImmediate as nextTurn } from 'node:timers/promises';
import type { HealthReporter } from '../../telemetry/health.ts';
import { PeriodicTask, serialized } from '../../telemetry/periodic-task.ts';
import type { ControlContext } from '../context.ts';
import { retireDrainedKeys, scanRotationPart, type DrainRound } from './rotation.ts';

/** Health components: warnings when they fail (announcements and retirements come late, nothing is lost). */
export const ROTATION_SCAN = 'key-rotation-scan';
export const DRAIN_RETIREMENT = 'key-drain-retirement';

/** Keys read per store call: the event loop runs between parts, so a run never blocks it for long. */
const PART = 1000;

export interface RotationTasksOptions {
  ctx: ControlContext;
  health: HealthReporter;
  scanIntervalMs: number;
  /** Keys read per scan run; the next run resumes after the last one read, and starts over at the end. */
  keysPerScan: number;
  drainCheckIntervalMs: number;
  /** How late a use may reach this node's usage recorder (gateway workers: one flush interval; else 0). */
  unseenUseMs: number;
}

export interface RotationScanRun {
  /** Keys announced as `key.rotation_due` by this run. */
  announced: string[];
  /** Keys expired by this run: their rotation overdue past its grace. */
  expired: string[];
  /** This run reached the last key (the next one starts from the first). */
  wrapped: boolean;
}

/**
 * The two background tasks of rotation hygiene (docs/rotation.md), each a PeriodicTask reporting to
 * health: the scan, which walks every key by id a bounded part per run (a cursor kept in memory; a
 * restart starts over, which the once-per-due-date notices make harmless), and the drain check,
 * which retires rotated keys no request has used for their quiet period. `scan()` and
 * `retireDrained()` run one round now (tests, and the runs themselves); calls never interleave.
 */
export class RotationTasks {
  readonly #options: RotationTasksOptions;
  readonly #scanTask: PeriodicTask;
  readonly #drainTask: PeriodicTask;
  #cursor = '';
  readonly scan: () => Promise<RotationScanRun>;
  readonly retireDrained: () => Promise<DrainRound>;

  constructor(options: RotationTasksOptions) {
    this.#options = options;
    this.scan = serialized(() => this.#scan());
    this.retireDrained = serialized(() => retireDrainedKeys(options.ctx, options.unseenUseMs));
    this.#scanTask = new PeriodicTask({
      component: ROTATION_SCAN,
      critical: false,
      health: options.health,
      intervalMs: options.scanIntervalMs,
      atStart: true,
      run: this.scan,
    });
    this.#drainTask = new PeriodicTask({
      component: DRAIN_RETIREMENT,
      critical: false,
      health: options.health,
      intervalMs: options.drainCheckIntervalMs,
      run: this.retireDrained,
    });
  }

  start(): void {
    this.#scanTask.start();
    this.#drainTask.start();
  }

  /** Waits for the rounds under way. */
  async stop(): Promise<void> {
    await Promise.all([this.#scanTask.stop(), this.#drainTask.stop()]);
  }

  async #scan(): Promise<RotationScanRun> {
    const run: RotationScanRun = { announced: [], expired: [], wrapped: false };
    for (let read = 0; read < this.#options.keysPerScan; read += PART) {
      const part = await scanRotationPart(this.#options.ctx, this.#cursor, Math.min(PART, this.#options.keysPerScan - read));
      run.announced.push(...part.announced);
      run.expired.push(...part.expired);
      this.#cursor = part.nextCursor ?? '';
      if (part.nextCursor === null) return { ...run, wrapped: true };
      await nextTurn();
    }
    return run;
  }
}
