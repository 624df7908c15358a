import { canonicalPath } from './canonical-path.ts';
import type { AccessRule } from './entities.ts';

/**
 * Access rules compiled once, when a key enters the cache, so the request path only runs
 * prepared matchers: no regular expression is built per request.
 */
export interface CompiledAccess {
  /**
   * An absent method or path is not checked (verify calls that only name an API). `path` is canonical
   * (domain/canonical-path.ts); `caseInsensitive` for an API whose upstream routes without regard to case.
   */
  allows(apiId: string, method?: string, path?: string, caseInsensitive?: boolean): boolean;
}

interface CompiledRule {
  methods: Set<string> | null;
  patterns: readonly string[] | null;
  paths: RegExp[] | null;
  /** The same patterns matching without regard to case; compiled when first needed. */
  folded: RegExp[] | null;
}

export function compileAccess(rules: readonly AccessRule[]): CompiledAccess {
  const byApi = new Map<string, CompiledRule[]>();
  for (const rule of rules) {
    const compiled: CompiledRule = {
      methods: rule.methods ? new Set(rule.methods.map((m) => m.toUpperCase())) : null,
      patterns: rule.paths ?? null,
      paths: rule.paths ? rule.paths.map((p) => compilePathPattern(p)) : null,
      folded: null,
    };
    byApi.set(rule.apiId, [...(byApi.get(rule.apiId) ?? []), compiled]);
  }
  return {
    // Loops, not `some` with closures: this runs on every request with a key.
    allows(apiId, method, path, caseInsensitive = false) {
      const candidates = byApi.get(apiId);
      if (!candidates) return false;
      for (const r of candidates) {
        if (r.methods !== null && method !== undefined && !r.methods.has(method)) continue;
        if (r.paths === null || path === undefined || matchesAny(caseInsensitive ? folded(r) : r.paths, path)) return true;
      }
      return false;
    },
  };
}

function matchesAny(patterns: readonly RegExp[], path: string): boolean {
  for (const re of patterns) if (re.test(path)) return true;
  return false;
}

function folded(rule: CompiledRule): RegExp[] {
  return (rule.folded ??= rule.patterns!.map((pattern) => compilePathPattern(pattern, true)));
}

/**
 * `*` matches one path segment, `**` any rest (including nothing); everything else is literal.
 * Patterns and the paths they are tested against are canonical (domain/canonical-path.ts), so one
 * literal spelling covers every way of writing the path. `caseInsensitive` compares ASCII letters
 * without regard to case (the same as lower-casing both sides; such APIs take ASCII paths only).
 */
export function compilePathPattern(pattern: string, caseInsensitive = false): RegExp {
  const source = canonicalSegments(pattern)
    .map((segment) => {
      if (segment === '**') return '.*';
      if (segment === '*') return '[^/]+';
      return segment.replace(/[.+?^${}()|[\]\\*]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source.replace(/\/\.\*$/, '(?:/.*)?')}/?$`, caseInsensitive ? 'i' : '');
}

/**
 * The pattern's segments in canonical form, wildcards kept, empty segments merged. New patterns must
 * already be canonical (pathPatternProblem); this keeps ones saved before that rule meaning what they
 * say (`/%61dmin/**` still guards `/admin`) instead of silently never matching. A segment with no
 * canonical form (`..`, `a;b`) stays as written and can never match a canonical path.
 */
function canonicalSegments(pattern: string): string[] {
  const segments = (pattern.startsWith('/') ? pattern : `/${pattern}`).split('/');
  const out = [''];
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === '') {
      if (i === segments.length - 1) out.push('');
      continue;
    }
    if (segment === '*' || segment === '**') {
      out.push(segment);
      continue;
    }
    const result = canonicalPath(`/${segment}`);
    out.push(result.ok ? result.path.slice(1) : segment);
  }
  return out.length === 1 ? ['', ''] : out;
}

/**
 * Why a path pattern cannot be used, or null. A pattern must be written in canonical form (the
 * form requests are matched in), with `*` and `**` only as whole segments; a pattern that could
 * never match, or that matches another spelling than it shows, is refused when it is saved.
 */
export function pathPatternProblem(pattern: string): string | null {
  if (pattern.length === 0 || pattern.length > 512) return 'a path pattern is 1 to 512 characters';
  const normalized = pattern.startsWith('/') ? pattern : `/${pattern}`;
  const segments = normalized.split('/');
  if (segments.some((s) => s.includes('*') && s !== '*' && s !== '**')) return '"*" and "**" stand for whole segments only';
  if (segments.slice(1, -1).includes('')) return 'an empty segment ("//")';
  // Wildcards stand for a segment: check the rest with one in their place.
  const literal = segments.map((s) => (s === '*' || s === '**' ? 'x' : s)).join('/');
  const result = canonicalPath(literal);
  if (!result.ok) return `not a usable path pattern: ${result.reason}`;
  if (result.path !== literal) {
    const suggestion = result.path
      .split('/')
      .map((s, i) => (segments[i] === '*' || segments[i] === '**' ? segments[i] : s))
      .join('/');
    return `not in canonical form (requests are matched in canonical form): write it as ${suggestion}`;
  }
  return null;
}

export function isValidPathPattern(pattern: string): boolean {
  return pathPatternProblem(pattern) === null;
}
