import type { App } from '../../domain/entities.ts';
import type { AppView } from '../admin/responses.ts';
import { resourceService } from './resource.ts';

type AppInput = { name: string; owner: string | null; metadata: Record<string, unknown> };

export function appView(app: App): AppView {
  return { ...app, ownerUserId: app.ownerUserId ?? null, createdAt: new Date(app.createdAt).toISOString(), updatedAt: new Date(app.updatedAt).toISOString() };
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
    metadata: patch.metadata ?? existing.metadata,
    // A developer's app stays theirs when an operator changes it.
    ...(existing.ownerUserId ? { ownerUserId: existing.ownerUserId } : {}),
  }),
  view: appView,
});
