import type { Api } from '../../domain/entities.ts';
import type { ApiInput } from '../admin/schemas.ts';
import { resourceService } from './resource.ts';

export const apisService = resourceService<Api, ApiInput, Partial<ApiInput>>({
  label: 'API',
  idKind: 'api',
  targetType: 'api',
  repo: (ctx) => ctx.store.apis,
  build: (input) => ({
    name: input.name,
    listenPath: input.listenPath,
    upstreamUrl: input.upstreamUrl,
    auth: input.auth,
    timeoutMs: Math.round(input.timeoutSeconds * 1000),
  }),
  merge: (existing, patch) => ({
    name: patch.name ?? existing.name,
    listenPath: patch.listenPath ?? existing.listenPath,
    upstreamUrl: patch.upstreamUrl ?? existing.upstreamUrl,
    auth: patch.auth ?? existing.auth,
    timeoutMs: patch.timeoutSeconds === undefined ? existing.timeoutMs : Math.round(patch.timeoutSeconds * 1000),
  }),
  changed: (ctx, api) => ctx.changes.publish({ type: 'api.changed', apiId: api.id }),
});

export function apiView(api: Api) {
  const { timeoutMs, createdAt, updatedAt, ...rest } = api;
  return { ...rest, timeoutSeconds: timeoutMs / 1000, createdAt: new Date(createdAt).toISOString(), updatedAt: new Date(updatedAt).toISOString() };
}
