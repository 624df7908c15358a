import type { HealthReporter } from '../../telemetry/health.ts';

/**
 * One health component for calls to Redis that fall back while it is away: reported when calls start
 * failing and when they work again, not once per call (an outage would otherwise log every request).
 */
export class RedisOutage {
  readonly #health: HealthReporter;
  readonly #component: string;
  #failing = false;

  constructor(health: HealthReporter, component: string, critical: boolean) {
    this.#health = health;
    this.#component = component;
    health.register(component, critical);
  }

  get failing(): boolean {
    return this.#failing;
  }

  ok(): void {
    if (this.#failing) ((this.#failing = false), this.#health.ok(this.#component));
  }

  failed(error: unknown): void {
    if (!this.#failing) ((this.#failing = true), this.#health.failed(this.#component, error));
  }
}
