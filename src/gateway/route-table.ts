import { compileRequirements, type RequirementMatcher } from '../domain/auth-requirements.ts';
import type { Api } from '../domain/entities.ts';

export interface Route {
  api: Api;
  /** The API's auth settings compiled: the requirement for a method and path. */
  requirements: RequirementMatcher;
  /** The upstream routes without regard to case, so rules and key limits match that way too. */
  caseInsensitive: boolean;
  /** Upstream origin (scheme://host:port) and the path prefix requests are appended to. */
  origin: string;
  basePath: string;
}

/**
 * The APIs compiled for matching: listen paths grouped by first segment, longest first, so a request
 * costs one Map lookup and a prefix comparison or two.
 */
export class RouteTable {
  readonly #byFirstSegment = new Map<string, Route[]>();

  constructor(apis: readonly Api[]) {
    for (const api of apis) {
      const upstream = new URL(api.upstreamUrl);
      const caseInsensitive = api.pathCase === 'insensitive';
      const route: Route = {
        api,
        requirements: compileRequirements(api.auth, caseInsensitive, api.listenPath),
        caseInsensitive,
        origin: upstream.origin,
        basePath: upstream.pathname.replace(/\/+$/, ''),
      };
      const first = firstSegment(api.listenPath);
      const list = this.#byFirstSegment.get(first) ?? [];
      list.push(route);
      list.sort((a, b) => b.api.listenPath.length - a.api.listenPath.length);
      this.#byFirstSegment.set(first, list);
    }
  }

  /** `path` is the canonical request path (listen paths are canonical too), without the query string. */
  match(path: string): Route | null {
    const candidates = this.#byFirstSegment.get(firstSegment(path));
    if (!candidates) return null;
    for (const route of candidates) {
      const listen = route.api.listenPath;
      if (path.startsWith(listen) && (path.length === listen.length || path.charCodeAt(listen.length) === 47)) return route;
    }
    return null;
  }

  origins(): Set<string> {
    const origins = new Set<string>();
    for (const routes of this.#byFirstSegment.values()) for (const r of routes) origins.add(r.origin);
    return origins;
  }
}

function firstSegment(path: string): string {
  const end = path.indexOf('/', 1);
  return end === -1 ? path.slice(1) : path.slice(1, end);
}
