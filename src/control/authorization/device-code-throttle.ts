import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Throttle } from '../../limits/port.ts';
import { messagePage } from './views.ts';

/** Requests whose user code oidc-provider refused (provider-pages.ts marks them as it renders the form again). */
const refused = new WeakSet<object>();

/** Called by the code-entry page when it shows "that code is not right". */
export function markWrongUserCode(kctx: KoaContextWithOIDC): void {
  refused.add(kctx);
}

type Next = () => Promise<unknown>;

/**
 * RFC 8628 §5.1: a user code is short enough to be guessed given enough tries, so "the authorization
 * server should rate-limit user-code attempts". Wrong codes are counted per client address on the
 * failure throttle (in Redis with several nodes); past the limit, a code sent from that address is not
 * looked up at all until the window lets it try again (429, Retry-After).
 */
export function deviceCodeThrottle(throttle: Throttle, verificationPath: string, clock: () => number) {
  const route = routeKey(verificationPath);
  return async (kctx: KoaContextWithOIDC, next: Next): Promise<void> => {
    if (kctx.method !== 'POST' || routeKey(kctx.path) !== route) {
      await next();
      return;
    }
    const address = kctx.request.ip;
    const wait = await throttle.blockedFor(address, clock());
    if (wait > 0) {
      kctx.status = 429;
      kctx.set('Retry-After', String(Math.ceil(wait / 1000)));
      kctx.type = 'html';
      kctx.body = messagePage('Too many attempts', 'Too many wrong codes were entered here. Wait a few minutes, then try again.');
      return;
    }
    await next();
    if (refused.has(kctx)) await throttle.recordFailure(address, clock());
  };
}

/**
 * A path as oidc-provider's router matches it: letters in either case, and one trailing slash dropped
 * (`/device/` and `/DEVICE` reach the code-entry route as `/device` does).
 */
function routeKey(path: string): string {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.toUpperCase();
}
