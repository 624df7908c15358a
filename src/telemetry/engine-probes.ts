import { healthMessageOf, type HealthReporter } from './health.ts';
import { PeriodicTask } from './periodic-task.ts';

/** What /readyz says of one engine (the store's database, Redis): measured by a periodic probe, never per request. */
export interface EngineStatus {
  status: 'up' | 'down' | 'unknown';
  /** The last probe's round trip (ms, 0.1 ms steps); null before the first answer. */
  latencyMs: number | null;
  checkedAt: string | null;
  /** The last failure's message while down (the control listener shows it; the gateway listener does not). */
  error: string | null;
}

export interface EngineProbe {
  /** `postgres`, `sqlite`, `redis`: the name /readyz reports it under. */
  engine: string;
  /** One cheap round trip (SELECT 1, PING). */
  ping: () => Promise<unknown>;
}

/** Health components of the probes (warnings: the store's and Redis's own components decide readiness). */
export const probeComponent = (engine: string): string => `probe-${engine}`;

/**
 * Probes each engine every `intervalMs` (and at start) with one cheap round trip, each within
 * `timeoutMs`, so /readyz reports each engine's status and latency without a request ever waiting
 * on a probe. Each probe is a PeriodicTask reporting to health (non-critical).
 */
export class EngineProbes {
  readonly #tasks: PeriodicTask[] = [];
  readonly #status = new Map<string, EngineStatus>();

  constructor(options: { probes: readonly EngineProbe[]; intervalMs: number; timeoutMs: number; clock: () => number; health: HealthReporter }) {
    for (const probe of options.probes) {
      this.#status.set(probe.engine, { status: 'unknown', latencyMs: null, checkedAt: null, error: null });
      this.#tasks.push(
        new PeriodicTask({
          component: probeComponent(probe.engine),
          critical: false,
          health: options.health,
          intervalMs: options.intervalMs,
          atStart: true,
          run: async () => {
            const started = performance.now();
            const at = new Date(options.clock()).toISOString();
            try {
              await withTimeout(probe.ping(), options.timeoutMs);
            } catch (error) {
              this.#status.set(probe.engine, { status: 'down', latencyMs: null, checkedAt: at, error: healthMessageOf(error) });
              throw error;
            }
            const latencyMs = Math.round((performance.now() - started) * 10) / 10;
            this.#status.set(probe.engine, { status: 'up', latencyMs, checkedAt: at, error: null });
          },
        }),
      );
    }
  }

  start(): void {
    for (const task of this.#tasks) task.start();
  }

  stop(): Promise<void> {
    return Promise.all(this.#tasks.map((t) => t.stop())).then(() => undefined);
  }

  /** Each engine's last probe, by engine name. */
  report(): Record<string, EngineStatus> {
    return Object.fromEntries(this.#status);
  }
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
