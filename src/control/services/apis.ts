import { authProblems } from '../../domain/auth-requirements.ts';
import { hasNonAscii } from '../../domain/canonical-path.ts';
import type { Api } from '../../domain/entities.ts';
import { ControlError, type ControlContext } from '../context.ts';
import { mergePatch } from '../../domain/merge-patch.ts';
import type { ApiView } from '../admin/responses.ts';
import { apiInputSchema, type ApiInput, type ApiPatch } from '../../domain/inputs/resources.ts';
import { resourceService } from './resource.ts';

const apiFields = (input: ApiInput) => ({
  name: input.name,
  listenPath: input.listenPath,
  upstreamUrl: input.upstreamUrl,
  auth: input.auth,
  tokens: tokenSettings(input.name, input.tokens),
  ...(input.identityJwt ? { identityJwt: true } : {}),
  ...(input.mtls ? { mtls: true } : {}),
  // Stored only when not the default, like the flags above, so APIs saved before it read the same.
  ...(input.pathCase === 'insensitive' ? { pathCase: 'insensitive' as const } : {}),
  ...requestLogSetting(input.requestLog),
  ...portalSetting(input.portal),
  ...(input.whenRedisUnavailable ? { whenRedisUnavailable: input.whenRedisUnavailable } : {}),
  timeoutMs: Math.round(input.timeoutSeconds * 1000),
});

/** Stored only when listed or described, so APIs saved before the portal read the same. */
function portalSetting(input: ApiInput['portal']): Pick<Api, 'portal'> {
  if (!input || (!input.listed && input.description === null)) return {};
  return { portal: { listed: input.listed, description: input.description } };
}

/** Stored only when not the default (logged, query names only), so APIs saved before it read the same. */
function requestLogSetting(input: ApiInput['requestLog']): Pick<Api, 'requestLog'> {
  if (input === false) return { requestLog: false };
  if (typeof input === 'object' && input.query) return { requestLog: { query: true } };
  return {};
}

export function apiView(api: Api): ApiView {
  const { timeoutMs, createdAt, updatedAt, pathCase, requestLog, portal, ...rest } = api;
  return {
    ...rest,
    portal: portal ?? { listed: false, description: null },
    timeoutSeconds: timeoutMs / 1000,
    pathCase: pathCase ?? 'sensitive',
    requestLog: requestLog ?? true,
    createdAt: new Date(createdAt).toISOString(),
    updatedAt: new Date(updatedAt).toISOString(),
  };
}

const API_ID = /^api_[0-9a-f]{28}$/;

export const defaultAudience = (name: string): string => `urn:gatehouse:api:${name}`;

function tokenSettings(name: string, input: ApiInput['tokens']): Api['tokens'] {
  return { audience: input?.audience ?? defaultAudience(name), accessTokenTtlSeconds: input?.accessTokenTtlSeconds ?? 900 };
}

/** A patched member: left out keeps `existing`, null removes it (undefined: the default applies). */
function patched<T>(patch: T | null | undefined, existing: T | undefined): T | undefined {
  return patch === undefined ? existing : (patch ?? undefined);
}

const resource = resourceService<Api, ApiInput, ApiPatch>({
  label: 'API',
  idKind: 'api',
  targetType: 'api',
  repo: (ctx) => ctx.store.apis,
  build: apiFields,
  // RFC 7396: a member the patch leaves out keeps its value, null removes it (the create schema's
  // default applies: none, off, or the node's setting), objects merge member by member.
  merge: (existing, patch) => {
    const name = patch.name ?? existing.name;
    const whenRedisUnavailable = patched(patch.whenRedisUnavailable, existing.whenRedisUnavailable);
    return {
      name,
      listenPath: patch.listenPath ?? existing.listenPath,
      upstreamUrl: patch.upstreamUrl ?? existing.upstreamUrl,
      auth: patch.auth === undefined ? existing.auth : apiInputSchema.shape.auth.parse(patch.auth === null ? undefined : mergePatch(existing.auth, patch.auth)),
      tokens:
        patch.tokens === undefined
          ? existing.tokens
          : tokenSettings(name, patch.tokens === null ? undefined : apiInputSchema.shape.tokens.parse(mergePatch(existing.tokens, patch.tokens))),
      ...(patched(patch.identityJwt, existing.identityJwt) ? { identityJwt: true } : {}),
      ...(patched(patch.mtls, existing.mtls) ? { mtls: true } : {}),
      ...(patched(patch.pathCase, existing.pathCase) === 'insensitive' ? { pathCase: 'insensitive' as const } : {}),
      ...(patch.requestLog === undefined
        ? existing.requestLog === undefined
          ? {}
          : { requestLog: existing.requestLog }
        : requestLogSetting(patch.requestLog ?? undefined)),
      ...(patch.portal === null
        ? {}
        : patch.portal === undefined
          ? existing.portal
            ? { portal: existing.portal }
            : {}
          : portalSetting(apiInputSchema.shape.portal.unwrap().parse(mergePatch(existing.portal ?? {}, patch.portal)))),
      ...(whenRedisUnavailable ? { whenRedisUnavailable } : {}),
      timeoutMs:
        patch.timeoutSeconds === undefined
          ? existing.timeoutMs
          : Math.round(apiInputSchema.shape.timeoutSeconds.parse(patch.timeoutSeconds ?? undefined) * 1000),
    };
  },
  validate: async (ctx, api) => {
    const problems = authProblems(api.auth, ctx.bearerAvailable);
    if (api.mtls && !ctx.mtlsAvailable) problems.mtls = 'mutual TLS needs gateway.tls.clientCaFile';
    if (api.identityJwt && !ctx.identity) problems.identityJwt = 'signing identity JWTs needs a master key (Gatehouse’s signing keys)';
    // A case-insensitive API takes ASCII paths only, so a rule naming non-ASCII could never match.
    if (api.pathCase === 'insensitive') {
      (api.auth.routes ?? []).forEach((rule, i) => {
        if ((rule.paths ?? []).some(hasNonAscii))
          problems[`auth.routes.${i}.paths`] = 'this API matches paths without regard to case, for ASCII paths only: a non-ASCII pattern would never match';
      });
    }
    if (Object.keys(problems).length > 0) throw new ControlError('VALIDATION_FAILED', 'the API’s auth settings cannot be met', problems);
  },
  changed: (ctx, api) => ctx.changes.publish({ type: 'api.changed', apiId: api.id }),
  view: apiView,
});

export const apisService = {
  ...resource,
  /** The API a caller names by id or by name (names are unique): for lookups, never for stored references. */
  async findByIdOrName(ctx: ControlContext, ref: string): Promise<Api | null> {
    if (API_ID.test(ref)) return ctx.store.apis.get(ref);
    return (await ctx.store.apis.list({ limit: 1, name: ref })).items[0] ?? null;
  },
  /** Whether a stored API already is what a declaration asks for (declared APIs are applied at start). */
  matches(api: Api, declared: ApiInput): boolean {
    const { id: _id, createdAt: _c, updatedAt: _u, ...stored } = api;
    return JSON.stringify(stored) === JSON.stringify(apiFields(declared));
  },
};
