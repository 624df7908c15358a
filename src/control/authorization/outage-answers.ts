import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { STORAGE_RETRY_AFTER_SECONDS } from '../../http/problem.ts';
import { StorageUnavailableError } from '../../store/port.ts';

/**
 * A store outage's answer at an OAuth endpoint: RFC 6749 §5.2's shape with §4.1.2.1's
 * `temporarily_unavailable`, a fixed description (nothing from the request or the failure).
 */
export const OUTAGE_ANSWER = {
  error: 'temporarily_unavailable',
  error_description: 'the authorization server cannot reach its store right now; nothing was changed: retry later',
} as const;

/** The failure is the store being away (StorageUnavailableError), itself or as the cause of another error. */
export function isStoreOutage(error: unknown): boolean {
  for (let e = error, depth = 0; e !== null && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++)
    if (e instanceof StorageUnavailableError) return true;
  return false;
}

/** 503 with Retry-After (RFC 9110 §15.6.4, §10.2.3; RFC 7009 §2.2.1 for revocation), as the admin API answers an outage. */
export function markUnavailable(kctx: { status: number; set(name: string, value: string): void }): void {
  kctx.status = 503;
  kctx.set('Retry-After', String(STORAGE_RETRY_AFTER_SECONDS));
}

/**
 * oidc-provider answers any failure it did not raise itself as 500 `server_error`, a store outage
 * too. Corrected after it answers, as in rfc-answers.ts: its 'server_error' event says which request
 * failed for want of the store, and its JSON answer becomes 503 `temporarily_unavailable` with
 * Retry-After (its HTML pages are drawn by renderError and the device form, which see the error
 * themselves). An outage that escapes it (our own answers at its endpoints) is answered the same.
 */
export function outageAnswers(
  provider: Provider,
  options: { onError: (error: unknown) => void; renderPage: (kctx: KoaContextWithOIDC, error: unknown) => Promise<void> },
) {
  const outages = new WeakSet<object>();
  provider.on('server_error', (kctx: KoaContextWithOIDC, error: unknown) => {
    if (isStoreOutage(error)) outages.add(kctx);
  });

  return async (kctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    try {
      await next();
    } catch (error) {
      if (!isStoreOutage(error) || kctx.headerSent) throw error;
      options.onError(error);
      markUnavailable(kctx);
      if (kctx.accepts('json', 'html') === 'html') await options.renderPage(kctx, error);
      else {
        kctx.set('Cache-Control', 'no-store');
        kctx.body = { ...OUTAGE_ANSWER };
      }
      return;
    }
    if (!outages.has(kctx)) return;
    const body = kctx.body as { error?: unknown } | undefined;
    if (!body || typeof body !== 'object' || Buffer.isBuffer(body) || body.error !== 'server_error') return;
    markUnavailable(kctx);
    kctx.body = { ...OUTAGE_ANSWER };
  };
}
