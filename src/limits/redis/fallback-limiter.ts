import type { HealthReporter } from '../../telemetry/health.ts';
import type { LimitCheck, LimitResult, Limiter, WhenUnavailable } from '../port.ts';
import { RedisOutage } from './outage.ts';

export const REDIS_LIMITER = 'redis-limiter';

export interface FallbackOptions {
  /** `local`: count in this node, each limit divided by `nodes`; `fail-closed`: refuse while Redis is away. An API's own setting wins. */
  mode: WhenUnavailable;
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
 * The shared limiter (Redis) with what to do when it cannot answer, per API (`whenRedisUnavailable`,
 * default redis.whenUnavailable): a call that fails is reported (health `redis-limiter`: failing makes
 * the node unready only when the deployment's default is fail-closed, where it cannot serve limited
 * routes) and answered by the local limiter with each limit divided by the expected number of nodes
 * (so the nodes together admit about the limit), or refused.
 */
export class FallbackLimiter implements Limiter {
  readonly #shared: Limiter;
  readonly #local: Limiter;
  readonly #options: FallbackOptions;
  readonly #outage: RedisOutage;

  constructor(shared: Limiter, local: Limiter, options: FallbackOptions) {
    this.#shared = shared;
    this.#local = local;
    this.#options = options;
    this.#outage = new RedisOutage(options.health, REDIS_LIMITER, options.mode === 'fail-closed');
  }

  consume(subject: string, checks: readonly LimitCheck[], now: number, whenUnavailable?: WhenUnavailable): Promise<LimitResult> {
    return this.#answer(subject, checks, now, true, whenUnavailable ?? this.#options.mode);
  }

  peek(subject: string, checks: readonly LimitCheck[], now: number, whenUnavailable?: WhenUnavailable): Promise<LimitResult> {
    return this.#answer(subject, checks, now, false, whenUnavailable ?? this.#options.mode);
  }

  async #answer(subject: string, checks: readonly LimitCheck[], now: number, commit: boolean, mode: WhenUnavailable): Promise<LimitResult> {
    try {
      const result = await (commit ? this.#shared.consume(subject, checks, now) : this.#shared.peek(subject, checks, now));
      this.#outage.ok();
      return result;
    } catch (error) {
      this.#outage.failed(error);
      if (mode === 'fail-closed') return closed(checks);
      const local = checks.map((c) => ({ ...c, limit: localShare(c, this.#options.nodes) }));
      return commit ? this.#local.consume(subject, local, now) : this.#local.peek(subject, local, now);
    }
  }
}

/**
 * A check's limit on one node while Redis is away. A quota starts from its seed, the use every node
 * had counted (the store's): the nodes share what is left of it, not the whole, which a seed past
 * `limit / nodes` would have used up at once.
 */
function localShare(c: LimitCheck, nodes: number): number {
  if (c.kind === 'rate') return Math.max(1, Math.floor(c.limit / nodes));
  const left = Math.max(0, c.limit - c.seed);
  return Math.min(c.limit, c.seed + (left === 0 ? 0 : Math.max(1, Math.floor(left / nodes))));
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
      windowMs: c.kind === 'rate' ? c.windowMs : c.window.end - c.window.start,
    })),
  };
}
