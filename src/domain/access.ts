import type { AccessRule } from './entities.ts';

/**
 * Access rules compiled once, when a key enters the cache, so the request path only runs
 * prepared matchers: no regular expression is built per request.
 */
export interface CompiledAccess {
  /** An absent method or path is not checked (verify calls that only name an API). */
  allows(apiId: string, method?: string, path?: string): boolean;
}

interface CompiledRule {
  methods: Set<string> | null;
  paths: RegExp[] | null;
}

export function compileAccess(rules: readonly AccessRule[]): CompiledAccess {
  const byApi = new Map<string, CompiledRule[]>();
  for (const rule of rules) {
    const compiled: CompiledRule = {
      methods: rule.methods ? new Set(rule.methods.map((m) => m.toUpperCase())) : null,
      paths: rule.paths ? rule.paths.map(compilePathPattern) : null,
    };
    byApi.set(rule.apiId, [...(byApi.get(rule.apiId) ?? []), compiled]);
  }
  return {
    allows(apiId, method, path) {
      const candidates = byApi.get(apiId);
      if (!candidates) return false;
      return candidates.some(
        (r) =>
          (r.methods === null || method === undefined || r.methods.has(method)) &&
          (r.paths === null || path === undefined || r.paths.some((p) => p.test(path))),
      );
    },
  };
}

/** `*` matches one path segment, `**` any rest (including nothing); everything else is literal. */
export function compilePathPattern(pattern: string): RegExp {
  const normalized = pattern.startsWith('/') ? pattern : `/${pattern}`;
  const source = normalized
    .split('/')
    .map((segment) => {
      if (segment === '**') return '.*';
      if (segment === '*') return '[^/]+';
      return segment.replace(/[.+?^${}()|[\]\\*]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source.replace(/\/\.\*$/, '(?:/.*)?')}/?$`);
}

const PATTERN_CHARS = /^\/?(?:[A-Za-z0-9\-._~%!$&'()+,;=:@]+|\*\*?)?(?:\/(?:[A-Za-z0-9\-._~%!$&'()+,;=:@]+|\*\*?))*\/?$/;

export function isValidPathPattern(pattern: string): boolean {
  return pattern.length > 0 && pattern.length <= 512 && PATTERN_CHARS.test(pattern);
}
