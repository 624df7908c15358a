import type { HealthReporter } from './health.ts';

export interface PeriodicTaskOptions {
  /** The health component each run reports to; declared here, before its first report. */
  component: string;
  /** Whether a failed run makes the node unready (false: a warning, the gateway serves on). */
  critical: boolean;
  health: HealthReporter;
  intervalMs: number;
  /** Also run once as soon as started (on the next turn of the event loop), not only after the first interval. */
  atStart?: boolean;
  run: () => Promise<unknown>;
}

/**
 * A background task (a flush, a retention cut) run every `intervalMs`, and at start if asked, or
 * now with `trigger()`. Each run reports to health, so a failure is logged and counted and the
 * next run still happens. Runs never overlap: one due while another is under way is skipped, so
 * they never pile up behind a slow store. Timers are unref'd: they never keep the process alive.
 * `stop()` clears the timers and waits for the run under way (no part of it may reach a writer
 * closed after), and nothing runs after it.
 */
export class PeriodicTask {
  readonly #options: PeriodicTaskOptions;
  #timers: NodeJS.Timeout[] = [];
  #running: Promise<void> | null = null;
  #stopped = false;

  constructor(options: PeriodicTaskOptions) {
    this.#options = options;
    options.health.register(options.component, options.critical);
  }

  start(): void {
    this.#timers.push(setInterval(() => this.trigger(), this.#options.intervalMs));
    if (this.#options.atStart) this.#timers.push(setTimeout(() => this.trigger(), 0));
    for (const timer of this.#timers) timer.unref();
  }

  /** One run now, unless one is under way or the task has stopped. */
  trigger(): void {
    if (this.#running !== null || this.#stopped) return;
    // health.run never rejects: it reports the failure.
    this.#running = this.#options.health.run(this.#options.component, this.#options.run).finally(() => (this.#running = null));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers = [];
    await this.#running;
  }
}

/**
 * `fn` made to run one call at a time (a flush whose parts must not interleave with the next's):
 * each call starts once the one before it has settled. A failed call rejects to its own caller
 * only; the next call still runs.
 */
export function serialized<T>(fn: () => Promise<T>): () => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  const next = () => fn();
  return () => {
    const call = last.then(next, next);
    last = call;
    return call;
  };
}
