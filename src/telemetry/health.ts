import type { Logger } from 'pino';
import { withoutSecrets } from '../domain/secret-redaction.ts';

/**
 * What background work and the store report, for the log and for readiness. Every failure is logged
 * with the component's name and counted; readiness is false while a critical component's last
 * report is a failure. Nothing here is a secret: errors are reduced to their messages, without
 * anything shaped like a secret (healthMessageOf).
 */
export interface HealthReporter {
  /** Declares a component before it first reports; critical ones decide readiness. */
  register(component: string, critical: boolean): void;
  ok(component: string): void;
  failed(component: string, error: unknown): void;
  /** Runs one round of a background task and reports how it went; never rejects. */
  run(component: string, task: () => Promise<unknown>): Promise<void>;
}

export interface ComponentHealth {
  ok: boolean;
  critical: boolean;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  /** Failures since the last success. */
  failures: number;
}

interface State {
  critical: boolean;
  ok: boolean;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  failures: number;
}

/** Told of every report as it is made (metrics); calls must be cheap: the store reports each commit. */
export interface HealthListener {
  reported(component: string, ok: boolean): void;
  /** A background task's round (`run`) and how long it took. */
  ran(component: string, ok: boolean, ms: number): void;
}

export class Health implements HealthReporter {
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #components = new Map<string, State>();
  #listener: HealthListener | null = null;

  constructor(log: Logger, clock: () => number) {
    this.#log = log;
    this.#clock = clock;
  }

  /** One listener (metrics); set before the components report. */
  listen(listener: HealthListener): void {
    this.#listener = listener;
  }

  register(component: string, critical: boolean): void {
    if (!this.#components.has(component))
      this.#components.set(component, { critical, ok: true, lastSuccessAt: null, lastError: null, lastErrorAt: null, failures: 0 });
  }

  ok(component: string): void {
    const state = this.#state(component);
    if (!state.ok) this.#log.info({ component }, `${component} recovered`);
    state.ok = true;
    state.failures = 0;
    state.lastSuccessAt = this.#clock();
    this.#listener?.reported(component, true);
  }

  failed(component: string, error: unknown): void {
    const state = this.#state(component);
    state.ok = false;
    state.failures++;
    state.lastError = healthMessageOf(error);
    state.lastErrorAt = this.#clock();
    this.#log.error({ err: error, component, failures: state.failures }, `${component} failed`);
    this.#listener?.reported(component, false);
  }

  async run(component: string, task: () => Promise<unknown>): Promise<void> {
    const started = performance.now();
    let failure: { error: unknown } | null = null;
    try {
      await task();
    } catch (error) {
      failure = { error };
    }
    if (failure === null) this.ok(component);
    else this.failed(component, failure.error);
    this.#listener?.ran(component, failure === null, performance.now() - started);
  }

  report(): { ready: boolean; components: Record<string, ComponentHealth> } {
    const components: Record<string, ComponentHealth> = {};
    let ready = true;
    for (const [name, s] of this.#components) {
      if (s.critical && !s.ok) ready = false;
      components[name] = {
        ok: s.ok,
        critical: s.critical,
        lastSuccessAt: iso(s.lastSuccessAt),
        lastError: s.lastError,
        lastErrorAt: iso(s.lastErrorAt),
        failures: s.failures,
      };
    }
    return { ready, components };
  }

  #state(component: string): State {
    this.register(component, true);
    return this.#components.get(component)!;
  }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The text readiness keeps of a failure (the control listener's /readyz shows it to anyone who reaches
 * it): its message, with every secret-shaped part replaced (domain/secret-redaction.ts, the log's rule),
 * since a library's message often quotes its input (a URL with `?api_key=`, a bearer JWT). Replaced
 * before it is cut to length: a cut inside a key could leave too little of it to be told as one.
 * Every producer of such text (health, engine probes, gateway workers) uses this one function.
 */
export function healthMessageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return withoutSecrets(message, '[Redacted]').slice(0, 300);
}

/**
 * Readiness while a node starts: its listeners open one after another (the gateway's first, the
 * control one before the authorization server and the web app run), and a load balancer must not
 * send a node traffic it is not serving yet. Not ready, and says why, until `started`.
 */
export function startupReadiness<T extends { ready: boolean }>(report: T, started: boolean): T & { starting?: true } {
  return started ? report : { ...report, ready: false, starting: true };
}
