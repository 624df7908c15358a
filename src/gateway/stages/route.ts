import type { Stage } from '../exchange.ts';
import type { RouteTable } from '../route-table.ts';

/** Which API serves this path. The table is swapped whole when an API changes. */
export function routeStage(table: () => RouteTable): Stage {
  return (exchange) => {
    exchange.route = table().match(exchange.path);
    if (!exchange.route) return { code: 'ROUTE_NOT_FOUND', detail: `no API is published at ${exchange.path.slice(0, 256)}` };
    exchange.apiPath = exchange.path.slice(exchange.route.api.listenPath.length) || '/';
    return undefined;
  };
}
