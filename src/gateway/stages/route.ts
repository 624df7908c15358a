import { hasNonAscii } from '../../domain/canonical-path.ts';
import { pathWithoutSecrets } from '../../domain/secret-redaction.ts';
import type { Stage } from '../exchange.ts';
import type { RouteTable } from '../route-table.ts';

/**
 * Which API serves this path, and what the route requires, all on the canonical path (the
 * canonical-path stage ran first). The table is swapped whole when an API changes.
 */
export function routeStage(table: () => RouteTable): Stage {
  return (exchange) => {
    const path = exchange.canonicalPath;
    const route = table().match(path);
    exchange.route = route;
    // The path as the request log and trace spans keep it (a key or JWT replaced), cut after the
    // secrets went: a cut could otherwise leave part of one no longer recognisable.
    if (!route) return { code: 'ROUTE_NOT_FOUND', detail: `no API is published at ${pathWithoutSecrets(path, '{secret}').slice(0, 256)}` };
    // The path below the listen path: what the rules and key limits see and what the upstream gets.
    exchange.apiPath = path.slice(route.api.listenPath.length) || '/';
    // Case folding beyond ASCII differs between upstreams (Python folds the Kelvin sign to "k"; JS
    // regular expressions without the u flag do not), so a case-insensitive API takes ASCII paths only.
    if (route.caseInsensitive && hasNonAscii(exchange.apiPath)) {
      return { code: 'PATH_NOT_CANONICAL', detail: `${route.api.name} matches paths without regard to case, which is defined here for ASCII paths only` };
    }
    // What this method and path must carry, from the API's rules (compiled when the API changed).
    exchange.requirement = route.requirements(exchange.req.method ?? 'GET', exchange.apiPath);
    return undefined;
  };
}
