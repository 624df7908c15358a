import type { FailureThrottle } from '../../limits/failure-throttle.ts';
import type { Stage } from '../exchange.ts';

/** An address that failed too often is refused before its credential is looked at. */
export function throttleFailuresStage(throttle: FailureThrottle): Stage {
  return (exchange) => {
    if (exchange.route?.api.auth.type === 'public') return undefined;
    const wait = throttle.blockedFor(exchange.ip, exchange.now);
    if (wait > 0) return { code: 'AUTH_RATE_LIMITED', detail: 'too many failed attempts from this address; retry later', retryAfterMs: wait };
    return undefined;
  };
}
