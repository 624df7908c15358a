import type { LimitState } from '../limits/port.ts';

export interface RateLimitHeaders {
  policy: string;
  state: string;
}

/**
 * The last RateLimit-Policy made, with the limits it was made for: the policy changes only with the
 * key's limits (and a quota's period), so most requests reuse it instead of formatting it again.
 */
let lastPolicy: { limits: readonly LimitState[]; text: string } | null = null;

/**
 * draft-ietf-httpapi-ratelimit-headers-10 §4 (RateLimit-Policy: quota `q`, window `w` in seconds) and
 * §5 (RateLimit: remaining `r`, seconds to reset `t`), one list member per named limit.
 */
export function rateLimitHeaders(limits: readonly LimitState[]): RateLimitHeaders | null {
  if (limits.length === 0) return null;
  let state = '';
  for (const l of limits) state += `${state === '' ? '' : ', '}"${l.name}";r=${l.remaining};t=${Math.ceil(l.resetMs / 1000)}`;
  if (lastPolicy === null || !samePolicy(lastPolicy.limits, limits)) lastPolicy = { limits, text: policyOf(limits) };
  return { policy: lastPolicy.text, state };
}

function policyOf(limits: readonly LimitState[]): string {
  let policy = '';
  for (const l of limits) policy += `${policy === '' ? '' : ', '}"${l.name}";q=${l.limit};w=${Math.max(1, Math.ceil(l.windowMs / 1000))}`;
  return policy;
}

function samePolicy(a: readonly LimitState[], b: readonly LimitState[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name || x.limit !== y.limit || x.windowMs !== y.windowMs) return false;
  }
  return true;
}
