import type { MiddlewareHandler } from 'hono';

/**
 * Headers for every page of the authorization server. No script may run (there are none) and only
 * our stylesheet loads. `form-action` is left out on purpose: browsers apply it to the redirects
 * after a form post too, which would block the final redirect to the client's redirect URI.
 */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': PAGE_CSP,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer, browsers send `Origin: null` on a form post (Fetch §3.1, "append a request Origin header"),
  // which the pages' Origin check refuses; nothing is sent to other origins either way.
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export const securityHeaders = (): MiddlewareHandler => async (c, next) => {
  await next();
  for (const [name, value] of Object.entries(PAGE_HEADERS)) c.res.headers.set(name, value);
};
