import { compilePathPattern } from './access.ts';
import type { ApiAuth, ApiAuthType } from './entities.ts';

/** What one request must carry, after route rules are applied. */
export interface Requirement {
  type: ApiAuthType;
  scopes: readonly string[];
  roles: readonly string[];
  needsKey: boolean;
  needsToken: boolean;
}

/** The requirement for a method and path below the listen path; compiled once per API change. */
export type RequirementMatcher = (method: string, path: string) => Requirement;

const requirement = (type: ApiAuthType, scopes: readonly string[], roles: readonly string[]): Requirement => ({
  type,
  scopes,
  roles,
  needsKey: type === 'apiKey' || type === 'apiKey+bearer',
  needsToken: type === 'bearer' || type === 'apiKey+bearer',
});

export function compileRequirements(auth: ApiAuth): RequirementMatcher {
  const fallback = requirement(auth.type, auth.scopes, auth.roles ?? []);
  const rules = (auth.routes ?? []).map((rule) => ({
    methods: rule.methods ? new Set(rule.methods) : null,
    paths: rule.paths ? rule.paths.map(compilePathPattern) : null,
    // A rule inherits what it does not set from the API.
    outcome: requirement(rule.type ?? auth.type, rule.scopes ?? auth.scopes, rule.roles ?? auth.roles ?? []),
  }));
  if (rules.length === 0) return () => fallback;
  return (method, path) => {
    for (const rule of rules) {
      if ((rule.methods === null || rule.methods.has(method)) && (rule.paths === null || rule.paths.some((p) => p.test(path)))) return rule.outcome;
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
  const rolesWithoutToken = (type: ApiAuthType, roles: readonly string[] | undefined) => (roles?.length ?? 0) > 0 && (type === 'apiKey' || type === 'public');
  if (rolesWithoutToken(auth.type, auth.roles)) problems['auth.roles'] = 'roles come from a bearer token: use type bearer or apiKey+bearer';
  (auth.routes ?? []).forEach((rule, i) => {
    if (rolesWithoutToken(rule.type ?? auth.type, rule.roles ?? auth.roles)) problems[`auth.routes.${i}.roles`] = 'roles come from a bearer token: use type bearer or apiKey+bearer';
    if ((rule.type ?? auth.type) === 'public' && (rule.scopes ?? []).length > 0) problems[`auth.routes.${i}.scopes`] = 'a public route has no credential to hold scopes';
  });
  if (auth.type === 'public' && auth.scopes.length > 0) problems['auth.scopes'] = 'a public API has no credential to hold scopes';
  return problems;
}

/** Every scope the API's rules mention: what the authorization server may grant for it. */
export function apiScopes(auth: ApiAuth): string[] {
  return [...new Set([...auth.scopes, ...(auth.routes ?? []).flatMap((r) => r.scopes ?? [])])];
}
