import type { ServerResponse } from 'node:http';
import type { LimitState } from '../limits/port.ts';

/**
 * draft-ietf-httpapi-ratelimit-headers-10 §4 (RateLimit-Policy: quota `q`, window `w` in seconds) and
 * §5 (RateLimit: remaining `r`, seconds to reset `t`), one list member per named limit.
 */
export function setRateLimitHeaders(res: ServerResponse, limits: readonly LimitState[]): void {
  if (limits.length === 0) return;
  let policy = '';
  let state = '';
  for (const l of limits) {
    const sep = policy === '' ? '' : ', ';
    policy += `${sep}"${l.name}";q=${l.limit};w=${Math.max(1, Math.ceil(l.windowMs / 1000))}`;
    state += `${sep}"${l.name}";r=${l.remaining};t=${Math.ceil(l.resetMs / 1000)}`;
  }
  res.setHeader('RateLimit-Policy', policy);
  res.setHeader('RateLimit', state);
}
