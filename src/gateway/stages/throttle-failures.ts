import type { FailureThrottle } from '../../limits/failure-throttle.ts';
import type { RoutedStage } from '../exchange.ts';

/**
 * An address that failed too often is refused before its credential is looked at. What counts is the
 * requirement settled for this method and path, not the API's default: a key-protected route of a
 * public API is throttled, and a public route of a key API stays open.
 */
export function throttleFailuresStage(throttle: FailureThrottle): RoutedStage {
  return (exchange) => {
    if (exchange.requirement.type === 'public') return undefined;
    const wait = throttle.blockedFor(exchange.ip, exchange.now);
    if (wait > 0) return { code: 'AUTH_RATE_LIMITED', detail: 'too many failed attempts from this address; retry later', retryAfterMs: wait };
    return undefined;
  };
}
