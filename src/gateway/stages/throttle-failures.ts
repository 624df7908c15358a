import { andThen } from '../../domain/maybe-async.ts';
import type { Throttle } from '../../limits/port.ts';
import type { RoutedExchange, RoutedStage, StageResult } from '../exchange.ts';

const decide = (wait: number): StageResult =>
  wait > 0 ? { code: 'AUTH_RATE_LIMITED', detail: 'too many failed attempts from this address; retry later', retryAfterMs: wait } : undefined;

/**
 * An address that failed too often is refused before its credential is looked at. What counts is the
 * requirement settled for this method and path, not the API's default: a key-protected route of a
 * public API is throttled, and a public route of a key API stays open.
 */
export function throttleFailuresStage(throttle: Throttle): RoutedStage {
  return (exchange) => {
    if (exchange.requirement.type === 'public') return undefined;
    return andThen(throttle.blockedFor(exchange.ip, exchange.now), decide);
  };
}

/**
 * Charges a failed credential check to the request's address, then answers `result`: with a shared
 * throttle the failure is counted (one round trip) before the client hears of it, so its next attempt,
 * at any node, sees it.
 */
export function chargeFailure(throttle: Throttle, exchange: RoutedExchange, result: StageResult): StageResult | Promise<StageResult> {
  const recorded = throttle.recordFailure(exchange.ip, exchange.now);
  return recorded instanceof Promise ? recorded.then(() => result) : result;
}
