import type { HealthReporter } from '../../telemetry/health.ts';
import type { LimitCheck, LimitResult, Limiter } from '../port.ts';

export const REDIS_LIMITER = 'redis-limiter';

export interface FallbackOptions {
  /** `local`: count in this node, each limit divided by `nodes`; `fail-closed`: refuse while Redis is away. */
  mode: 'local' | 'fail-closed';
  nodes: number;
  health: HealthReporter;
}

/** The options redis.whenUnavailable and redis.expectedNodes configure. */
export function fallbackOptions(redis: { whenUnavailable: FallbackOptions['mode']; expectedNodes: number }, health: HealthReporter): FallbackOptions {
  return { mode: redis.whenUnavailable, nodes: redis.expectedNodes, health };
}

/** How long a client is told to wait when limits are refused because they cannot be counted. */
const CLOSED_RETRY_MS = 1000;

/**
 * The shared limiter (Redis) with what to do when it cannot answer: a call that fails is reported
 * (health `redis-limiter`: failing makes the node unready only in fail-closed mode, where it cannot
 * serve limited routes) and answered by the local limiter with each limit divided by the expected
 * number of nodes (so the nodes together admit about the limit), or refused.
 */
export class FallbackLimiter implements Limiter {
  readonly #shared: Limiter;
  readonly #local: Limiter;
  readonly #options: FallbackOptions;
  #failing = false;

  constructor(shared: Limiter, local: Limiter, options: FallbackOptions) {
    this.#shared = shared;
    this.#local = local;
    this.#options = options;
    options.health.register(REDIS_LIMITER, options.mode === 'fail-closed');
  }

  consume(checks: readonly LimitCheck[], now: number): Promise<LimitResult> {
    return this.#answer(checks, now, true);
  }

  peek(checks: readonly LimitCheck[], now: number): Promise<LimitResult> {
    return this.#answer(checks, now, false);
  }

  async #answer(checks: readonly LimitCheck[], now: number, commit: boolean): Promise<LimitResult> {
    try {
      const result = await (commit ? this.#shared.consume(checks, now) : this.#shared.peek(checks, now));
      if (this.#failing) ((this.#failing = false), this.#options.health.ok(REDIS_LIMITER));
      return result;
    } catch (error) {
      if (!this.#failing) ((this.#failing = true), this.#options.health.failed(REDIS_LIMITER, error));
      if (this.#options.mode === 'fail-closed') return closed(checks);
      const local = checks.map((c) => ({ ...c, limit: Math.max(1, Math.floor(c.limit / this.#options.nodes)) }));
      return commit ? this.#local.consume(local, now) : this.#local.peek(local, now);
    }
  }
}

function closed(checks: readonly LimitCheck[]): LimitResult {
  return {
    allowed: false,
    deniedBy: checks[0]?.kind ?? 'rate',
    retryAfterMs: CLOSED_RETRY_MS,
    states: checks.map((c) => ({
      kind: c.kind,
      name: c.name,
      limit: c.limit,
      remaining: 0,
      resetMs: CLOSED_RETRY_MS,
      windowMs: c.kind === 'rate' ? c.windowMs : c.periodEnd - c.periodStart,
    })),
  };
}
