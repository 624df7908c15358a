import type { AdminClient } from './admin-client.ts';
import { CommandError } from './output.ts';

/** The kinds of object people call by name, and where the admin API looks their names up. */
const KINDS = {
  api: { path: '/apis', prefix: 'api', label: 'API', permission: 'apis:read' },
  app: { path: '/apps', prefix: 'app', label: 'app', permission: 'apps:read' },
  policy: { path: '/policies', prefix: 'pol', label: 'policy', permission: 'policies:read' },
} as const;
export type NamedKind = keyof typeof KINDS;

/**
 * The admin API takes ids, which stay the same when an object is renamed; people type names. Every
 * --api, --app and --policy flag (and the ID of `apis|apps|policies show|update|delete`) takes
 * either: an id passes as it is, a name is looked up (`GET /apis?name=...`) and must match exactly
 * one object. Looking a name up needs that kind's read permission; an id needs none.
 */
export async function resolveId(client: AdminClient, kind: NamedKind, value: string): Promise<string> {
  const k = KINDS[kind];
  if (new RegExp(`^${k.prefix}_[0-9a-f]{28}$`).test(value)) return value;
  let page: { items: { id: string }[]; nextCursor: string | null };
  try {
    page = await client.request('GET', `${k.path}?name=${encodeURIComponent(value)}&limit=10`);
  } catch (error) {
    if (error instanceof CommandError && (error.details as { code?: string } | null)?.code === 'PERMISSION_DENIED') {
      throw new CommandError(
        `looking up the ${k.label} named "${value}" needs the ${k.permission} permission; give its id (${k.prefix}_...) instead`,
        error.details,
      );
    }
    throw error;
  }
  const ids = page.items.map((item) => item.id);
  if (ids.length === 0) throw new CommandError(`no ${k.label} named "${value}" (give the name or the id, ${k.prefix}_..., of an existing ${k.label})`);
  if (ids.length > 1)
    throw new CommandError(`more than one ${k.label} is named "${value}" (${ids.join(', ')}${page.nextCursor ? ', ...' : ''}); give the id instead`);
  return ids[0]!;
}

/** resolveId for a flag that may be absent. */
export const resolveOptional = async (client: AdminClient, kind: NamedKind, value: unknown): Promise<string | undefined> =>
  typeof value === 'string' ? resolveId(client, kind, value) : undefined;

/** resolveId for a repeatable flag; absent stays absent. */
export const resolveAll = async (client: AdminClient, kind: NamedKind, values: unknown): Promise<string[] | undefined> =>
  Array.isArray(values) ? Promise.all(values.map((v: string) => resolveId(client, kind, v))) : undefined;
