import type { StatusClass, UsageCell } from '../store/port.ts';

/** One cell, or several: a name's cells are few (one per denial code and status class seen), so a list is scanned. */
type Cells = UsageCell | UsageCell[];

/** The cells of one API and route: by key (a key belongs to one app), and for requests without a key by app. */
interface RouteCells {
  byKey: Map<string, Cells>;
  byApp: Map<string, Cells>;
}

const matches = (cell: UsageCell, appId: string | null, denial: string | null, statusClass: StatusClass): boolean =>
  cell.statusClass === statusClass && cell.denialCode === denial && cell.appId === appId;

/**
 * Usage analytics' cells by their dimensions: two small Maps (API, route) and one more (key, or app
 * when there is none) find a short list, held as the cell itself when it is the only one. A Map per
 * level and a slot per status class (the tree this replaces) cost a hot key about 500 bytes of Map
 * tables and arrays in every gateway thread (bench/per-key-memory.ts). Nothing is allocated to look up.
 */
export class CellIndex {
  #byApi = new Map<string, Map<string, RouteCells>>();

  /** The cell of this combination, if one is held. */
  find(
    apiId: string | null,
    route: string | null,
    keyId: string | null,
    appId: string | null,
    denial: string | null,
    statusClass: StatusClass,
  ): UsageCell | undefined {
    const cells = this.#byApi.get(apiId ?? '')?.get(route ?? '');
    if (cells === undefined) return undefined;
    const held = keyId === null ? cells.byApp.get(appId ?? '') : cells.byKey.get(keyId);
    if (held === undefined) return undefined;
    if (!Array.isArray(held)) return matches(held, appId, denial, statusClass) ? held : undefined;
    for (const cell of held) if (matches(cell, appId, denial, statusClass)) return cell;
    return undefined;
  }

  /** Holds a cell of a combination that has none (find returned undefined). */
  add(cell: UsageCell): void {
    let routes = this.#byApi.get(cell.apiId ?? '');
    if (routes === undefined) this.#byApi.set(cell.apiId ?? '', (routes = new Map()));
    let cells = routes.get(cell.route ?? '');
    if (cells === undefined) routes.set(cell.route ?? '', (cells = { byKey: new Map(), byApp: new Map() }));
    const byName = cell.keyId === null ? cells.byApp : cells.byKey;
    const name = cell.keyId ?? cell.appId ?? '';
    const held = byName.get(name);
    if (held === undefined) byName.set(name, cell);
    else if (Array.isArray(held)) held.push(cell);
    else byName.set(name, [held, cell]);
  }

  clear(): void {
    this.#byApi = new Map();
  }
}
