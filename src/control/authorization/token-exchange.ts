import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { apiScopes } from '../../domain/auth-requirements.ts';
import { isWellFormedKey } from '../../domain/key-format.ts';
import validateDpop, { checkDpopReplay } from 'oidc-provider/lib/helpers/validate_dpop.js';
import type { Verification, VerifiedKey } from '../../verification/port.ts';
import type { ControlContext } from '../context.ts';
import type { ClientDirectory } from './client-directory.ts';

/** RFC 8693 §2.1: the grant type, and the token type names an API key as the subject token. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const API_KEY_TOKEN_TYPE = 'urn:gatehouse:params:oauth:token-type:api-key';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const PARAMETERS = ['subject_token', 'subject_token_type', 'resource', 'audience', 'scope', 'requested_token_type'];

interface Options {
  ctx: ControlContext;
  directory: ClientDirectory;
  sign: { alg: string; kid: string };
}

/**
 * Key-to-token exchange: a client holding one of its app's API keys trades it for a short-lived,
 * audience-bound access token carrying the app's identity and the key's scopes, so the long-lived key
 * need not travel past the edge. The token is a child of the key, never worth more than the key:
 * - refused here: publishable keys (public by design, only for browsers on publishable routes, which
 *   take no tokens) and keys bound to a client certificate (this endpoint never sees the gateway's
 *   client certificate, so it cannot check one); the key is verified as the gateway would (revoked,
 *   disabled, expired, not allowed for the API or from the caller's address, lacking a requested
 *   scope, over its rate limit or quota: refused; the exchange is a use of the key);
 * - carried into the token: `key_id` names the parent key, and the gateway checks that key again on
 *   every request with the token (gateway/stages/parent-key.ts): its status, its access rules
 *   (methods, paths), IP allowlist and certificate binding as they are then, and its rate limits and
 *   quota, shared with the key itself;
 * - `exp` never passes the key's expiry, which for a rotated key is the end of its grace period.
 */
export function registerTokenExchange(provider: Provider, o: Options): void {
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (kctx: KoaContextWithOIDC) => {
      const params = kctx.oidc.params as Record<string, string | undefined>;
      const client = kctx.oidc.client!;
      if (params.subject_token_type !== API_KEY_TOKEN_TYPE) throw new errors.InvalidRequest(`subject_token_type must be ${API_KEY_TOKEN_TYPE}`);
      if (!params.subject_token) throw new errors.InvalidRequest('missing subject_token');
      if (params.requested_token_type && params.requested_token_type !== ACCESS_TOKEN_TYPE)
        throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
      const registered = await o.directory.client(client.clientId);
      // RFC 9449 §5: with a proof the token is bound to its key; a DPoP-bound client must send one.
      const dPoP = await validateDpop(provider, kctx);
      if (registered?.dpopBound && !dPoP) throw new errors.InvalidRequest('this client must send a DPoP proof');
      if (dPoP) await checkDpopReplay(provider, kctx, dPoP, client.clientId);
      const apis = await o.directory.apis();
      const resource =
        params.resource ?? params.audience ?? (registered?.apiIds.length === 1 ? apis.find((a) => a.id === registered.apiIds[0])?.tokens.audience : undefined);
      if (!resource) throw new errors.InvalidTarget('name the API with the resource parameter');
      const api = apis.find((a) => a.tokens.audience === resource);
      if (!api || !registered?.apiIds.includes(api.id)) throw new errors.InvalidTarget('this client may not get tokens for that resource');

      const requested = params.scope ? params.scope.split(' ').filter(Boolean) : [];
      const grantable = new Set(apiScopes(api.auth).filter((s) => registered.scopes.includes(s)));
      const beyond = requested.filter((s) => !grantable.has(s));
      if (beyond.length) throw new errors.InvalidScope('scope not allowed for this client and API', beyond.join(' '));

      if (isWellFormedKey(params.subject_token, 'publishable'))
        throw refused('publishable keys (gk_pub_) cannot be exchanged: they are public, for browsers on publishable routes only');
      // As a request without a browser origin or a client certificate, on a route that takes no publishable key.
      const facts = { apiId: api.id, ip: kctx.ip, requiredScopes: requested, publishableRoute: false, origin: null, certificateThumbprint: null };
      // The key itself is never echoed; the code says why it was refused.
      const why = async (v: Exclude<Verification, VerifiedKey>) =>
        refused(v.code === 'FORBIDDEN' ? await whyForbidden(o.ctx, v.keyId) : `the API key was refused: ${v.code}`);
      // Checked first without counting: another app's key is refused before it is used (its rate
      // limit, quota, last use and addresses untouched), since a refused exchange is not a use.
      const checked = await o.ctx.verifier.verify(params.subject_token, facts, false);
      if (!checked.valid) throw await why(checked);
      if (checked.appId !== registered.exchangeAppId) throw refused('the API key belongs to another app');
      const v = await o.ctx.verifier.verify(params.subject_token, facts);
      if (!v.valid) throw await why(v);

      const scope = (requested.length ? requested : [...v.scopes].filter((s) => grantable.has(s))).join(' ');
      const ttl = Math.min(api.tokens.accessTokenTtlSeconds, registered.accessTokenTtlSeconds ?? Infinity);
      const token = new provider.AccessToken({ accountId: v.appId, client, scope: scope || undefined, gty: 'token_exchange' } as never);
      token.resourceServer = new provider.ResourceServer(resource, {
        scope: [...grantable].join(' '),
        audience: resource,
        accessTokenTTL: ttl,
        accessTokenFormat: 'jwt',
        jwt: { sign: o.sign },
      } as never);
      // Never outlive the key it was exchanged for (a rotated key's expiry is its grace end): times on
      // Gatehouse's clock, the one the key's expiry and the gateway's checks use, rounded down.
      const iat = Math.floor(o.ctx.clock() / 1000);
      const exp = Math.min(iat + ttl, v.expiresAt === null ? Infinity : Math.floor(v.expiresAt / 1000));
      if (exp <= iat) throw refused('the API key expires within a second');
      Object.assign(token, { iat, exp });
      (token as unknown as { gatehouseClaims: Record<string, unknown> }).gatehouseClaims = { app_id: v.appId, key_id: v.keyId };
      if (dPoP) token.setThumbprint('jkt', dPoP.thumbprint);
      const value = await token.save();
      // Recorded before the token is answered: a token no record names never leaves, so revoking a
      // compromised key finds every token exchanged from it (KeyRepo.compromise).
      await o.ctx.store.exchangedTokens.record(
        { jti: token.jti, keyId: v.keyId, clientId: client.clientId, audience: resource, scope, issuedAt: iat * 1000, expiresAt: exp * 1000, revokedAt: null },
        {
          actor: `client:${client.clientId}`,
          requestId: null,
          action: 'key.exchanged',
          targetType: 'key',
          targetId: v.keyId,
          before: null,
          after: { aud: resource, scope, jti: token.jti, expiresAt: new Date(exp * 1000).toISOString() },
        },
      );
      kctx.body = {
        access_token: value,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: dPoP ? 'DPoP' : 'Bearer',
        expires_in: exp - iat,
        ...(scope ? { scope } : {}),
      };
    },
    PARAMETERS,
  );
}

/** RFC 6749 §5.2 invalid_grant with our reason as its error_description (oidc-provider's own keeps it in a log-only detail). */
function refused(description: string): InstanceType<typeof errors.InvalidGrant> {
  return Object.assign(new errors.InvalidGrant(description), { error_description: description });
}

/** A clear reason for a FORBIDDEN key (read only on this refusal): the binding this endpoint cannot check, else access or address. */
async function whyForbidden(ctx: ControlContext, keyId: string): Promise<string> {
  const key = await ctx.store.keys.get(keyId);
  if (key?.certificateThumbprint)
    return 'the API key is bound to a client certificate, which the token endpoint cannot check: use the key itself over mutual TLS';
  return 'the API key was refused: FORBIDDEN (not allowed for this API, or not from this address)';
}
