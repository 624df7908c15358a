import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Endpoints where the client authenticates (RFC 6749 §2.3). */
const AUTHENTICATED_ROUTES = new Set(['token', 'introspection', 'revocation', 'device_authorization']);
/** oidc-provider's whole description of every invalid_grant; its reason stays in a log-only detail. */
const HIDDEN_REASON = 'grant request is invalid';

interface ErrorBody {
  error?: string;
  error_description?: string;
  scope?: string;
}

/**
 * Where oidc-provider's answers differ from what RFC 6749, RFC 8628 and RFC 9449 tell a client to
 * expect, corrected after it answers. Each condition is worked out again from the request (never
 * from the wording of oidc-provider's message), so a correction cannot land on another error:
 * - a grant type the client may not use: `unauthorized_client` (RFC 6749 §5.2, RFC 8628 §3.2), not `invalid_request`;
 * - no client authentication at all: `invalid_client`, 401 with a Basic challenge (RFC 6749 §5.2), not `invalid_request`;
 * - a DPoP-bound client sending no proof: `invalid_request` saying so (RFC 9449 §5), not a bare `invalid_grant`;
 * - any other `invalid_grant`: its reason as `error_description` (RFC 6749 §5.2), not "grant request is invalid";
 * - a token response whose scope is empty omits it: a scope is one or more scope tokens (RFC 6749 §3.3).
 */
export function rfcAnswers(provider: Provider) {
  // The error object is gone once oidc-provider has answered; its event still carries the reason.
  const reasons = new WeakMap<object, string>();
  provider.on('grant.error', (kctx: KoaContextWithOIDC, error: { error?: string; error_detail?: unknown; cause?: unknown }) => {
    // A reason oidc-provider wrote itself, not the message of an underlying failure.
    if (error.error === 'invalid_grant' && typeof error.error_detail === 'string' && error.cause === undefined) reasons.set(kctx, error.error_detail);
  });

  return async (kctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    await next();
    const route = kctx.oidc?.route;
    const body = kctx.body as ErrorBody | undefined;
    if (!route || !body || typeof body !== 'object' || Buffer.isBuffer(body)) return;
    if (route === 'token' && kctx.status === 200 && body.scope === '') delete body.scope;
    if (!body.error) return;
    const client = kctx.oidc.client;
    const params = (kctx.oidc.params ?? {}) as Record<string, unknown>;

    if (body.error === 'invalid_request' && client && (route === 'token' || route === 'device_authorization')) {
      const grantType = route === 'token' ? params.grant_type : DEVICE_CODE_GRANT;
      if (typeof grantType === 'string' && !client.grantTypeAllowed(grantType)) {
        answer(kctx, 400, 'unauthorized_client', `this client may not use the ${grantType} grant`);
        return;
      }
    }
    if (
      body.error === 'invalid_request' &&
      !client &&
      AUTHENTICATED_ROUTES.has(route) &&
      kctx.oidc.params &&
      kctx.get('authorization') === '' &&
      params.client_id === undefined &&
      params.client_assertion === undefined
    ) {
      answer(
        kctx,
        401,
        'invalid_client',
        'no client authentication: send client_id and client_secret with HTTP Basic (or client_id alone for a public client)',
      );
      kctx.set('WWW-Authenticate', `Basic realm="${provider.issuer}"`);
      return;
    }
    if (body.error === 'invalid_grant' && route === 'token' && client?.dpopBoundAccessTokens && kctx.get('dpop') === '') {
      answer(kctx, 400, 'invalid_request', 'this client must send a DPoP proof (RFC 9449): its access tokens are DPoP-bound');
      return;
    }
    const reason = reasons.get(kctx);
    if (body.error === 'invalid_grant' && body.error_description === HIDDEN_REASON && reason) body.error_description = reason;
  };
}

function answer(kctx: KoaContextWithOIDC, status: number, error: string, description: string): void {
  kctx.status = status;
  kctx.body = { error, error_description: description };
}
