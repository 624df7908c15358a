import type { Verification } from '../../verification/port.ts';
import { iso } from '../context.ts';
import type { VerificationView } from './responses.ts';

/**
 * The verify endpoint's answer: `{valid, code, ...}` with rate limits and quota as the gateway counts
 * them. One flat shape for both sides (keyId, appId and expiresAt null when no key was found), so
 * clients read it without switching on `valid`.
 */
export function verificationView(v: Verification, now: number): VerificationView {
  const quota = v.limits.find((l) => l.kind === 'quota');
  return {
    valid: v.valid,
    code: v.code,
    keyId: v.keyId,
    appId: v.appId,
    expiresAt: iso(v.expiresAt),
    ratelimits: v.limits.filter((l) => l.kind === 'rate').map((l) => ({ name: l.name, limit: l.limit, remaining: l.remaining, reset: iso(now + l.resetMs) })),
    quota: quota ? { limit: quota.limit, remaining: quota.remaining, reset: iso(now + quota.resetMs) } : null,
    ...(!v.valid && v.retryAfterMs > 0 ? { retryAfterSeconds: Math.ceil(v.retryAfterMs / 1000) } : {}),
  };
}
