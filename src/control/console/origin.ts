import type { IncomingMessage } from 'node:http';

/**
 * Whether a state-changing request comes from the web app's own origin: `Origin` must be one of ours
 * (browsers send it on every cross-origin request and on same-origin ones other than GET and HEAD,
 * RFC 6454 §7; Fetch §3.1), and `Sec-Fetch-Site`, when sent, must be `same-origin` (Fetch Metadata).
 * With the CSRF token and SameSite=Strict, the third of three defences (OWASP CSRF cheat sheet).
 */
export function fromOwnOrigin(req: Pick<IncomingMessage, 'headers'>, origins: ReadonlySet<string>): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = req.headers.origin;
  return typeof origin === 'string' && origins.has(origin);
}

export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/**
 * Where the web app may send someone back after sign-in: a path of its own under /console/ or
 * /developers/, nothing that could leave the origin (`//host`, `/\host`, a scheme) or smuggle a
 * control character; anything else is the default.
 */
export function safeReturnTo(value: string | undefined, fallback: string): string {
  if (!value || value.length > 512) return fallback;
  if (!/^\/(?:console|developers)(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$/.test(value)) return fallback;
  if (value.includes('//') || value.includes('\\') || /%(?:2f|5c|0[0-9a-f]|1[0-9a-f])/i.test(value)) return fallback;
  return value;
}
