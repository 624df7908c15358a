import type { App } from '../../domain/entities.ts';
import type { AppView } from '../admin/responses.ts';
import { ControlError, notFound, type Actor, type ControlContext } from '../context.ts';
import { auditedChange } from './audit-change.ts';
import { keyDeletedAudit } from './keys.ts';
import { conflictAware, resourceService } from './resource.ts';

type AppInput = { name: string; owner: string | null; metadata: Record<string, unknown> };

export function appView(app: App): AppView {
  return { ...app, ownerUserId: app.ownerUserId ?? null, createdAt: new Date(app.createdAt).toISOString(), updatedAt: new Date(app.updatedAt).toISOString() };
}

/**
 * An app goes only when nothing names it: its keys (the store's foreign key refuses those too), and
 * the OAuth clients and webhook endpoints registered for it, which would otherwise outlive it, working
 * and managed by nobody. The admin API and the portal both ask this. With `keys: 'in-use'` (an app
 * deleted with its retired keys: deleteAppWithRetiredKeys), only keys in use count: revoked and
 * expired ones go with the app (KeyRepo.deleteAppWithRetiredKeys, which counts again as it deletes).
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

/**
 * Deletes an app once it has no key in use, OAuth client or webhook endpoint: its revoked and expired
 * keys go with it, each audited as `key.deleted`, in one store transaction; the audit log keeps
 * everything about them. The admin API and the portal delete apps alike (a retired key names nothing
 * that works, and a portal developer cannot delete keys); 409 while a key is in use.
 */
export async function deleteAppWithRetiredKeys(ctx: ControlContext, actor: Actor, existing: App): Promise<void> {
  const id = existing.id;
  await assertAppUnused(ctx, id, 'in-use');
  const done = await conflictAware(
    'app',
    () =>
      ctx.store.keys.deleteAppWithRetiredKeys(
        id,
        ctx.clock(),
        (key) => keyDeletedAudit(actor, key),
        (deleted) => ({
          ...actor,
          action: 'app.deleted',
          targetType: 'app',
          targetId: id,
          ...auditedChange(appView, deleted, null),
        }),
      ),
    'still in use',
  );
  if (!done.deleted && done.why === 'missing') throw notFound('app', id);
  // A key created after the check above: the store counted it in its transaction and deleted nothing.
  if (!done.deleted) throw new ControlError('CONFLICT', 'this app still has keys in use (revoke them): remove them first');
  for (const keyId of done.keyIds) ctx.changes.publish({ type: 'key.changed', keyId });
}

const appResource = resourceService<App, AppInput, Partial<AppInput>>({
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
});

export const appsService = {
  ...appResource,
  /** As the portal deletes a developer's app: with its retired keys (deleteAppWithRetiredKeys). */
  async delete(ctx: ControlContext, actor: Actor, id: string): Promise<void> {
    await deleteAppWithRetiredKeys(ctx, actor, await appResource.get(ctx, id));
  },
};
