import type { Stage } from '../exchange.ts';
import type { RouteTable } from '../route-table.ts';

/** Which API serves this path, and what the route requires. The table is swapped whole when an API changes. */
export function routeStage(table: () => RouteTable): Stage {
  return (exchange) => {
    exchange.route = table().match(exchange.path);
    if (!exchange.route) return { code: 'ROUTE_NOT_FOUND', detail: `no API is published at ${exchange.path.slice(0, 256)}` };
    exchange.apiPath = exchange.path.slice(exchange.route.api.listenPath.length) || '/';
    // What this method and path must carry, from the API's rules (compiled when the API changed).
    exchange.requirement = exchange.route.requirements(exchange.req.method ?? 'GET', exchange.apiPath);
    return undefined;
  };
}
