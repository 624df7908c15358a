import { compilePathPattern } from './access.ts';
import type { ApiAuth, ApiAuthType, IdentityLimit, QuotaPeriod } from './entities.ts';

/** What one request must carry, after route rules are applied. */
export interface Requirement {
  type: ApiAuthType;
  scopes: readonly string[];
  roles: readonly string[];
  needsKey: boolean;
  needsToken: boolean;
  rateLimits: readonly CompiledLimit[];
  /**
   * The route template that decided this requirement: the listen path and the pattern of the rule that
   * matched (`/orders/items/*`), or the listen path alone when no rule with paths matched. Built once
   * per API change; metrics and the request log name the route with it, never with the request's path.
   */
  route: string;
}

export interface CompiledLimit {
  name: string;
  limit: number;
  /** A rate limit's window; 0 for a quota. */
  windowMs: number;
  /** A quota's calendar period; null for a rate limit. */
  period: QuotaPeriod | null;
  by: IdentityLimit['by'];
}

/** The requirement for a method and canonical path below the listen path; compiled once per API change. */
export type RequirementMatcher = (method: string, path: string) => Requirement;

const requirement = (type: ApiAuthType, scopes: readonly string[], roles: readonly string[], limits: readonly IdentityLimit[], route: string): Requirement => ({
  type,
  scopes,
  roles,
  needsKey: type === 'apiKey' || type === 'apiKey+bearer' || type === 'publishable',
  needsToken: type === 'bearer' || type === 'apiKey+bearer',
  rateLimits: compileLimits(limits),
  route,
});

/** An API's or route rule's limits per app, user or both, as the identity limits count them. */
export const compileLimits = (limits: readonly IdentityLimit[]): CompiledLimit[] =>
  limits.map((l) => ({ name: l.name, limit: l.limit, windowMs: (l.windowSeconds ?? 0) * 1000, period: l.period ?? null, by: l.by }));

/** A rule's path pattern below the listen path, as one template (`/` publishes at the root, so no `//`). */
const template = (listenPath: string, pattern: string): string => (listenPath === '/' ? pattern : `${listenPath}${pattern}`);

/**
 * `caseInsensitive`: the API's upstream routes without regard to case, so its rules match that way.
 * `listenPath`: where the API is published, the start of every route template.
 */
export function compileRequirements(auth: ApiAuth, caseInsensitive = false, listenPath = ''): RequirementMatcher {
  const fallback = requirement(auth.type, auth.scopes, auth.roles ?? [], auth.rateLimits ?? [], listenPath);
  const rules = (auth.routes ?? []).map((rule) => {
    // A rule inherits what it does not set from the API.
    const outcome = (route: string) =>
      requirement(rule.type ?? auth.type, rule.scopes ?? auth.scopes, rule.roles ?? auth.roles ?? [], rule.rateLimits ?? auth.rateLimits ?? [], route);
    return {
      // HEAD is GET without the content (RFC 9110 §9.3.2): upstreams run their GET handler for it, so a
      // rule for GET holds for HEAD too (a HEAD met by no rule got the API's own, perhaps looser, requirement).
      methods: rule.methods ? new Set(rule.methods.includes('GET') ? [...rule.methods, 'HEAD'] : rule.methods) : null,
      // One requirement per pattern, each naming its own route template.
      paths: rule.paths ? rule.paths.map((p) => ({ test: compilePathPattern(p, caseInsensitive), outcome: outcome(template(listenPath, p)) })) : null,
      outcome: outcome(listenPath),
    };
  });
  if (rules.length === 0) return () => fallback;
  return (method, path) => {
    for (const rule of rules) {
      if (rule.methods !== null && !rule.methods.has(method)) continue;
      if (rule.paths === null) return rule.outcome;
      for (const p of rule.paths) if (p.test.test(path)) return p.outcome;
    }
    return fallback;
  };
}

/** Checks an API's auth settings at the admin API, so a bad one is refused there and never met at request time. */
export function authProblems(auth: ApiAuth, bearerAvailable: boolean): Record<string, string> {
  const problems: Record<string, string> = {};
  const types = [auth.type, ...(auth.routes ?? []).map((r) => r.type).filter((t) => t !== undefined)];
  if (!bearerAvailable && types.some((t) => t === 'bearer' || t === 'apiKey+bearer')) {
    problems['auth.type'] = 'bearer tokens need a token issuer: configure a master key (own issuer) or authorization.issuers';
  }
  const rolesWithoutToken = (type: ApiAuthType, roles: readonly string[] | undefined) =>
    (roles?.length ?? 0) > 0 && (type === 'apiKey' || type === 'public' || type === 'publishable');
  if (rolesWithoutToken(auth.type, auth.roles)) problems['auth.roles'] = 'roles come from a bearer token: use type bearer or apiKey+bearer';
  (auth.routes ?? []).forEach((rule, i) => {
    if (rolesWithoutToken(rule.type ?? auth.type, rule.roles ?? auth.roles))
      problems[`auth.routes.${i}.roles`] = 'roles come from a bearer token: use type bearer or apiKey+bearer';
    if ((rule.type ?? auth.type) === 'public' && (rule.scopes ?? []).length > 0)
      problems[`auth.routes.${i}.scopes`] = 'a public route has no credential to hold scopes';
  });
  if (auth.type === 'public' && auth.scopes.length > 0) problems['auth.scopes'] = 'a public API has no credential to hold scopes';
  if (auth.type === 'publishable' && auth.scopes.length > 0) problems['auth.scopes'] = 'publishable routes are public-read: they cannot ask for scopes';
  // A limit counted per user needs a token to name the user; per app, a key or a token to name the app.
  const limitProblem = (type: ApiAuthType, limits: readonly IdentityLimit[] | undefined): string | null => {
    for (const l of limits ?? []) {
      if (l.by !== 'app' && (type === 'apiKey' || type === 'public' || type === 'publishable'))
        return `limit ${l.name} is counted by ${l.by}, which needs a bearer token (type bearer or apiKey+bearer)`;
      if (type === 'public') return `limit ${l.name} is counted by app, which needs a credential`;
    }
    return null;
  };
  const apiLimits = limitProblem(auth.type, auth.rateLimits);
  if (apiLimits) problems['auth.rateLimits'] = apiLimits;
  (auth.routes ?? []).forEach((rule, i) => {
    const routeLimits = limitProblem(rule.type ?? auth.type, rule.rateLimits ?? auth.rateLimits);
    if (routeLimits) problems[`auth.routes.${i}.rateLimits`] = routeLimits;
  });
  return problems;
}

/** Every scope the API's rules mention: what the authorization server may grant for it. */
export function apiScopes(auth: ApiAuth): string[] {
  return [...new Set([...auth.scopes, ...(auth.routes ?? []).flatMap((r) => r.scopes ?? [])])];
}
