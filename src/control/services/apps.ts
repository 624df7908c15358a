import type { App } from '../../domain/entities.ts';
import type { AppView } from '../admin/responses.ts';
import { ControlError, type ControlContext } from '../context.ts';
import { resourceService } from './resource.ts';

type AppInput = { name: string; owner: string | null; metadata: Record<string, unknown> };

export function appView(app: App): AppView {
  return { ...app, ownerUserId: app.ownerUserId ?? null, createdAt: new Date(app.createdAt).toISOString(), updatedAt: new Date(app.updatedAt).toISOString() };
}

/**
 * An app goes only when nothing names it: its keys (the store's foreign key refuses those too), and
 * the OAuth clients and webhook endpoints registered for it, which would otherwise outlive it, working
 * and managed by nobody. The admin API and the portal both ask this. With `keys: 'in-use'` (the
 * portal, whose developers cannot delete keys), only keys in use count: revoked and expired ones go
 * with the app (KeyRepo.deleteAppWithRetiredKeys, which counts again as it deletes).
 */
export async function assertAppUnused(ctx: ControlContext, id: string, keys: 'any' | 'in-use' = 'any'): Promise<void> {
  const now = ctx.clock();
  const [keyPages, clients, webhooks] = await Promise.all([
    Promise.all(
      keys === 'any'
        ? [ctx.store.keys.list({ appId: id, limit: 1, now })]
        : (['active', 'disabled'] as const).map((status) => ctx.store.keys.list({ appId: id, status, limit: 1, now })),
    ),
    ctx.store.clients.listByApp(id, { limit: 1 }),
    ctx.store.webhooks.listByApp(id, { limit: 1 }),
  ]);
  const users = [
    keyPages.some((p) => p.items.length) ? (keys === 'any' ? 'keys' : 'keys in use (revoke them)') : null,
    clients.items.length ? 'OAuth clients' : null,
    webhooks.items.length ? 'webhook endpoints' : null,
  ].filter((u) => u !== null);
  if (users.length) throw new ControlError('CONFLICT', `this app still has ${users.join(', ')}: ${keys === 'any' ? 'delete' : 'remove'} them first`);
}

export const appsService = resourceService<App, AppInput, Partial<AppInput>>({
  label: 'app',
  idKind: 'app',
  targetType: 'app',
  repo: (ctx) => ctx.store.apps,
  build: (input) => ({ name: input.name, owner: input.owner, metadata: input.metadata }),
  merge: (existing, patch) => ({
    name: patch.name ?? existing.name,
    owner: patch.owner === undefined ? existing.owner : patch.owner,
    metadata: patch.metadata === undefined ? existing.metadata : (patch.metadata ?? {}),
    // A developer's app stays theirs when an operator changes it.
    ...(existing.ownerUserId ? { ownerUserId: existing.ownerUserId } : {}),
  }),
  view: appView,
  deletable: (ctx, app) => assertAppUnused(ctx, app.id),
});
