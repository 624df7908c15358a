import type { AuditEntry } from '../../domain/entities.ts';
import { newId, type ID_PREFIXES } from '../../domain/ids.ts';
import { ConflictError, type NamedEntityRepo, type NamedPageQuery, type Page } from '../../store/port.ts';
import { ControlError, notFound, requireFound, type Actor, type ControlContext } from '../context.ts';
import { auditedChange } from './audit-change.ts';

interface ResourceSpec<T extends { id: string; createdAt: number; updatedAt: number }, In, Patch> {
  label: string;
  idKind: keyof typeof ID_PREFIXES;
  targetType: AuditEntry['targetType'];
  repo: (ctx: ControlContext) => NamedEntityRepo<T>;
  build: (input: In) => Omit<T, 'id' | 'createdAt' | 'updatedAt'>;
  merge: (existing: T, patch: Patch) => Omit<T, 'id' | 'createdAt' | 'updatedAt'>;
  /** Checks that need the store (references to other entities); throws ControlError. */
  validate?: (ctx: ControlContext, entity: Omit<T, 'id' | 'createdAt' | 'updatedAt'>) => Promise<void>;
  changed?: (ctx: ControlContext, entity: T) => void;
  /** Refuses (ControlError CONFLICT) deleting an entity something the store cannot constrain still names. */
  deletable?: (ctx: ControlContext, entity: T) => Promise<void>;
  /** The admin API's shape of the entity, which the audit log records too. */
  view: (entity: T) => Record<string, unknown>;
}

/** Create, read, list (by name too), update and delete with audit for the simple resources (APIs, apps, policies). */
export function resourceService<T extends { id: string; createdAt: number; updatedAt: number }, In, Patch>(spec: ResourceSpec<T, In, Patch>) {
  const audit = (actor: Actor, action: string, id: string, before: T | null, after: T | null) => ({
    ...actor,
    action: `${spec.targetType}.${action}`,
    targetType: spec.targetType,
    targetId: id,
    ...auditedChange(spec.view, before, after),
  });
  const get = async (ctx: ControlContext, id: string): Promise<T> => requireFound(await spec.repo(ctx).get(id), spec.label, id);
  /** Stores what `next` makes of the stored entity, with its audit entry. */
  const write = async (ctx: ControlContext, actor: Actor, id: string, next: (existing: T) => Omit<T, 'id' | 'createdAt' | 'updatedAt'>): Promise<T> => {
    const existing = await get(ctx, id);
    const fields = next(existing);
    await spec.validate?.(ctx, fields);
    const entity = { ...fields, id, createdAt: existing.createdAt, updatedAt: ctx.clock() } as T;
    const done = await conflictAware(spec.label, () => spec.repo(ctx).update(entity, audit(actor, 'updated', id, existing, entity)));
    if (!done) throw notFound(spec.label, id);
    spec.changed?.(ctx, entity);
    return entity;
  };
  return {
    get,
    /** `name`: only those with exactly this name. */
    list: (ctx: ControlContext, query: NamedPageQuery): Promise<Page<T>> => spec.repo(ctx).list(query),
    async create(ctx: ControlContext, actor: Actor, input: In): Promise<T> {
      const now = ctx.clock();
      const fields = spec.build(input);
      await spec.validate?.(ctx, fields);
      const entity = { ...fields, id: newId(spec.idKind, now), createdAt: now, updatedAt: now } as T;
      await conflictAware(spec.label, () => spec.repo(ctx).create(entity, audit(actor, 'created', entity.id, null, entity)));
      spec.changed?.(ctx, entity);
      return entity;
    },
    /** A merge patch (RFC 7396): what it leaves out keeps its value. */
    update: (ctx: ControlContext, actor: Actor, id: string, patch: Patch): Promise<T> => write(ctx, actor, id, (existing) => spec.merge(existing, patch)),
    /**
     * The whole resource as a declaration (the config file) says: what it leaves out is cleared, where
     * a merge patch would keep it (roles taken out of a declared API stayed, and it was written again at every start).
     */
    replace: (ctx: ControlContext, actor: Actor, id: string, input: In): Promise<T> => write(ctx, actor, id, () => spec.build(input)),
    async delete(ctx: ControlContext, actor: Actor, id: string): Promise<void> {
      const existing = await get(ctx, id);
      await spec.deletable?.(ctx, existing);
      const done = await conflictAware(spec.label, () => spec.repo(ctx).delete(id, (deleted) => audit(actor, 'deleted', id, deleted, null)), 'still in use');
      if (!done) throw notFound(spec.label, id);
      spec.changed?.(ctx, existing);
    },
  };
}

export async function conflictAware<R>(
  label: string,
  write: () => Promise<R>,
  reason = 'conflicts with an existing one (name or path already taken)',
): Promise<R> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof ConflictError) throw new ControlError('CONFLICT', `this ${label} ${reason}`);
    throw error;
  }
}
