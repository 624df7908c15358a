import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { RevocationList } from '../../verification/revocation-list.ts';
import type { ControlContext } from '../context.ts';

interface Options {
  ctx: ControlContext;
  revocations: RevocationList;
  jwks: Record<string, unknown>[];
  issuer: string;
  mayIntrospect: (clientId: string, authMethod: string, tokenClientId: string | undefined, aud: unknown) => Promise<boolean>;
}

/** Algorithms pinned for our own tokens (RFC 8725 §3.1): never `none`, never an HMAC. */
const ALGORITHMS = ['ES256', 'RS256', 'EdDSA'];

/**
 * JWT access tokens are not stored, so oidc-provider refuses them at its introspection and
 * revocation endpoints (`unsupported_token_type`). Gatehouse answers for its own JWTs there, once
 * oidc-provider has authenticated the client: introspection (RFC 7662) verifies the JWT and checks
 * the revocation list (and, for a token exchanged for an API key, that key's standing); revocation (RFC 7009) puts its `jti` on the list, so the gateway refuses it too.
 */
export function jwtAccessTokenExtension(o: Options) {
  const keys = createLocalJWKSet({ keys: o.jwks as never[] });
  const verify = async (token: unknown): Promise<JWTPayload | null> => {
    if (typeof token !== 'string' || token.split('.').length !== 3) return null;
    try {
      const { payload } = await jwtVerify(token, keys, { issuer: o.issuer, typ: 'at+jwt', algorithms: ALGORITHMS });
      return payload;
    } catch {
      return null;
    }
  };

  return async (kctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    let thrown: unknown;
    try {
      await next();
    } catch (error) {
      thrown = error;
    }
    // oidc-provider refuses JWTs at these two endpoints by design, after authenticating the client.
    const refusal = (thrown ?? kctx.body) as { error?: string } | undefined;
    const route = kctx.oidc?.route;
    const client = kctx.oidc?.client;
    if (refusal?.error !== 'unsupported_token_type' || !client || (route !== 'introspection' && route !== 'revocation')) {
      if (thrown) throw thrown;
      return;
    }
    const payload = await verify(kctx.oidc.params?.token);
    kctx.status = 200;
    kctx.set('Cache-Control', 'no-store');
    if (route === 'introspection') {
      kctx.body = await introspect(payload, client.clientId, client.clientAuthMethod ?? 'none');
    } else {
      kctx.body = '';
      await revoke(payload, client.clientId);
    }
  };

  async function introspect(payload: JWTPayload | null, clientId: string, authMethod: string): Promise<Record<string, unknown>> {
    if (!payload || o.revocations.isRevoked(payload.gid as string | undefined, payload.jti)) return { active: false };
    if (!(await o.mayIntrospect(clientId, authMethod, payload.client_id as string | undefined, payload.aud))) return { active: false };
    // An exchanged token lives only as long as its parent key may be used (revoked, disabled, expired, deleted: inactive).
    if (payload.key_id !== undefined && (typeof payload.key_id !== 'string' || (await o.ctx.verifier.standingById(payload.key_id)) !== 'VALID'))
      return { active: false };
    const cnf = payload.cnf as { jkt?: string } | undefined;
    return { ...payload, active: true, token_type: cnf?.jkt ? 'DPoP' : 'Bearer' };
  }

  async function revoke(payload: JWTPayload | null, clientId: string): Promise<void> {
    // RFC 7009 §2.1: only the client the token was issued to may revoke it; others get the same 200.
    if (!payload?.jti || payload.client_id !== clientId) return;
    const now = o.ctx.clock();
    await o.ctx.store.revocations.add({ kind: 'token', id: payload.jti, revokedAt: now, expiresAt: (payload.exp ?? 0) * 1000 || now + 86_400_000 });
    o.ctx.changes.publish({ type: 'token.revoked', kind: 'token', id: payload.jti });
    await o.ctx.store.audit.append({
      actor: `client:${clientId}`,
      requestId: null,
      action: 'token.revoked',
      targetType: 'grant',
      targetId: payload.jti,
      before: null,
      after: { sub: payload.sub, aud: payload.aud },
    });
  }
}
