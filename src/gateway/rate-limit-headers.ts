import type { LimitState } from '../limits/port.ts';

export interface RateLimitHeaders {
  policy: string;
  state: string;
}

/**
 * draft-ietf-httpapi-ratelimit-headers-10 §4 (RateLimit-Policy: quota `q`, window `w` in seconds) and
 * §5 (RateLimit: remaining `r`, seconds to reset `t`), one list member per named limit.
 */
export function rateLimitHeaders(limits: readonly LimitState[]): RateLimitHeaders | null {
  if (limits.length === 0) return null;
  let policy = '';
  let state = '';
  for (const l of limits) {
    const sep = policy === '' ? '' : ', ';
    policy += `${sep}"${l.name}";q=${l.limit};w=${Math.max(1, Math.ceil(l.windowMs / 1000))}`;
    state += `${sep}"${l.name}";r=${l.remaining};t=${Math.ceil(l.resetMs / 1000)}`;
  }
  return { policy, state };
}
