import { compileLimits, compileRequirements, type CompiledLimit } from '../../domain/auth-requirements.ts';
import type { Api } from '../../domain/entities.ts';
import { canonicalPath, hasNonAscii } from '../../domain/canonical-path.ts';
import { isFailedKeyCheck } from '../../domain/codes.ts';
import type { VerifyRequest } from '../../domain/inputs/resources.ts';
import type { LimitResult } from '../../limits/port.ts';
import type { Verification, VerifiedKey } from '../../verification/port.ts';
import type { VerificationView } from '../admin/responses.ts';
import { verificationView } from '../admin/verification-view.ts';
import { ControlError, type ControlContext } from '../context.ts';
import { apisService } from './apis.ts';

/**
 * Verifying a key for a service outside the gateway (POST /admin/v1/keys/verify): the same
 * KeyVerifier and limiter the gateway uses, with the request described by the caller.
 */
export const verificationService = {
  /**
   * `api` is a lookup, by name or id: a service knows its API by name. `onFailedKeyCheck` is told of
   * a key that is not ours (a guess), so the endpoint is no faster way to guess keys than the gateway.
   */
  async verify(ctx: ControlContext, request: VerifyRequest, onFailedKeyCheck: () => void | Promise<void>): Promise<VerificationView> {
    let api: Api | null = null;
    let caseInsensitivePath = false;
    let requiredScopes = request.scopes ?? [];
    let limits: readonly CompiledLimit[] = [];
    if (request.api !== undefined) {
      api = await apisService.findByIdOrName(ctx, request.api);
      if (!api) throw new ControlError('VALIDATION_FAILED', 'the request names an unknown API', { api: `no API with id or name ${request.api}` });
      caseInsensitivePath = api.pathCase === 'insensitive';
    }
    // The key's path limits are matched on the canonical path, as at the gateway (domain/canonical-path.ts).
    const path = request.path === undefined ? undefined : canonicalPath(request.path);
    if (path && !path.ok) throw new ControlError('VALIDATION_FAILED', 'the path is ambiguous', { path: path.reason });
    if (path && caseInsensitivePath && hasNonAscii(path.path)) {
      throw new ControlError('VALIDATION_FAILED', 'the path is ambiguous', { path: 'the API matches paths without regard to case, for ASCII paths only' });
    }
    if (api) {
      // The scopes of the route the request falls under, settled as the gateway settles them (first
      // matching rule; an apiKey+bearer route asks the key for none); without a path, the API's own.
      const requirement = path ? compileRequirements(api.auth, caseInsensitivePath, api.listenPath)(request.method ?? '', path.path) : null;
      requiredScopes = [...requiredScopes, ...(requirement === null ? api.auth.scopes : requirement.needsToken ? [] : requirement.scopes)];
      limits = requirement === null ? compileLimits(api.auth.rateLimits ?? []) : requirement.rateLimits;
    }
    const apiId = api?.id;
    const whenRedisUnavailable = api?.whenRedisUnavailable;
    const facts = { apiId, method: request.method, path: path?.path, caseInsensitivePath, ip: request.ip, requiredScopes, whenRedisUnavailable };
    const key = await ctx.verifier.verify(request.key, facts, request.consume);
    if (isFailedKeyCheck(key.code)) await onFailedKeyCheck();
    // Then the API's own limits per app, as the gateway's identity-limits stage counts them after the
    // key's (per user: a key names no user, so those are the token's, which this request has not).
    const verification =
      api && key.valid ? withApiLimits(key, await ctx.identityLimits.check(api, limits, key.appId, null, ctx.clock(), request.consume)) : key;
    return verificationView(verification, ctx.clock());
  },
};

/** A valid key's answer after the API's own limits (null: none applies): theirs beside the key's, refused when one is used up. */
function withApiLimits(key: VerifiedKey, result: LimitResult | null): Verification {
  if (result === null) return key;
  const limits = [...key.limits, ...result.states];
  if (result.allowed) return { ...key, limits };
  const code = result.deniedBy === 'quota' ? 'QUOTA_EXCEEDED' : 'RATE_LIMITED';
  return { valid: false, code, keyId: key.keyId, appId: key.appId, expiresAt: key.expiresAt, limits, retryAfterMs: result.retryAfterMs };
}
