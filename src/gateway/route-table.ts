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
 * costs one Map lookup and a prefix comparison or two. When many APIs share a first segment (`/v1/...`
 * for all of them), the request's own prefixes are looked up instead, so matching stays a few Map
 * lookups whatever the number of APIs (issue 14, flat cost).
 */
export class RouteTable {
  readonly #byFirstSegment = new Map<string, Route[]>();
  readonly #byListenPath = new Map<string, Route>();

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
      this.#byFirstSegment.set(first, list);
      this.#byListenPath.set(api.listenPath, route);
    }
    for (const list of this.#byFirstSegment.values()) list.sort((a, b) => b.api.listenPath.length - a.api.listenPath.length);
  }

  /** `path` is the canonical request path (listen paths are canonical too), without the query string. */
  match(path: string): Route | null {
    const candidates = this.#byFirstSegment.get(firstSegment(path));
    if (!candidates) return null;
    if (candidates.length > SCAN_AT_MOST) return this.#longestPrefix(path);
    for (const route of candidates) {
      const listen = route.api.listenPath;
      if (path.startsWith(listen) && (path.length === listen.length || path.charCodeAt(listen.length) === 47)) return route;
    }
    return null;
  }

  /** The longest listen path that is the path itself or a prefix of it ending before a `/`: one lookup per segment. */
  #longestPrefix(path: string): Route | null {
    let end = path.length;
    while (end > 0) {
      const route = this.#byListenPath.get(end === path.length ? path : path.slice(0, end));
      if (route) return route;
      end = path.lastIndexOf('/', end - 1);
    }
    return null;
  }

  origins(): Set<string> {
    const origins = new Set<string>();
    for (const routes of this.#byFirstSegment.values()) for (const r of routes) origins.add(r.origin);
    return origins;
  }
}

/** Above this many APIs under one first segment, match() looks prefixes up instead of comparing each. */
const SCAN_AT_MOST = 8;

function firstSegment(path: string): string {
  const end = path.indexOf('/', 1);
  return end === -1 ? path.slice(1) : path.slice(1, end);
}
