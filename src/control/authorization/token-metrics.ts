import type { KoaContextWithOIDC } from 'oidc-provider';

/** The token endpoint's answer: issued (`error` null, RFC 6749 §5.1) or the error code it sent (§5.2). */
export type TokenRequestObserver = (grantType: string | null, error: string | null) => void;

/**
 * Reports every token endpoint answer with its grant type. Registered outside rfcAnswers, so it sees
 * the error the client receives (after the corrections there), and outside oidc-provider, so a
 * failure that escapes it counts as the server_error it is answered with.
 */
export function tokenRequestMetrics(observe: TokenRequestObserver) {
  return async (kctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    try {
      await next();
    } catch (error) {
      if (kctx.oidc?.route === 'token') observe(grantTypeOf(kctx), 'server_error');
      throw error;
    }
    if (kctx.oidc?.route !== 'token') return;
    const body = kctx.body as { error?: unknown } | undefined;
    const error = kctx.status === 200 ? null : typeof body?.error === 'string' ? body.error : 'server_error';
    observe(grantTypeOf(kctx), error);
  };
}

function grantTypeOf(kctx: KoaContextWithOIDC): string | null {
  const grantType = (kctx.oidc.params as Record<string, unknown> | undefined)?.grant_type;
  return typeof grantType === 'string' ? grantType : null;
}
