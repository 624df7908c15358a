import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEntry } from '../../domain/entities.ts';
import type { EntityRepo, Store } from '../port.ts';
import { allAudit, audit } from './fixtures.ts';

/**
 * Create, get, list, update and delete with audit: the same for every entity repository (apis, apps,
 * policies, users, clients, signing keys). Called inside the repository's own `describe`.
 */
export function entityContract<T extends { id: string }>(
  targetType: AuditEntry['targetType'],
  current: () => Store,
  repoOf: (store: Store) => EntityRepo<T>,
  make: (n: number) => T,
  change: (entity: T) => T,
): void {
  const entry = (action: string, entity: T) => audit(`${targetType}.${action}`, targetType, entity.id, entity);
  test('a created entity is returned by get; an unknown id gives null', async () => {
    const repo = repoOf(current());
    const entity = make(1);
    await repo.create(entity, entry('created', entity));
    assert.deepEqual(await repo.get(entity.id), entity);
    assert.equal(await repo.get(`${entity.id}0`), null);
    // An id a client sent may hold what no stored id can (PostgreSQL's text cannot hold U+0000).
    assert.equal(await repo.get(`${entity.id}\u0000`), null);
  });

  test('list returns every entity once, in creation order, across cursor pages', async () => {
    const repo = repoOf(current());
    const created = [1, 2, 3, 4, 5].map(make);
    for (const entity of created) await repo.create(entity, entry('created', entity));
    const first = await repo.list({ limit: 2 });
    const second = await repo.list({ limit: 2, cursor: first.nextCursor ?? undefined });
    const third = await repo.list({ limit: 2, cursor: second.nextCursor ?? undefined });
    assert.deepEqual([...first.items, ...second.items, ...third.items], created);
    assert.notEqual(first.nextCursor, null);
    assert.notEqual(second.nextCursor, null);
    assert.equal(third.nextCursor, null);
    assert.equal((await repo.list({ limit: 5 })).nextCursor, null);
  });

  test('update replaces the entity and returns false for an unknown id without an audit entry', async () => {
    const repo = repoOf(current());
    const entity = make(1);
    await repo.create(entity, entry('created', entity));
    const changed = change(entity);
    assert.equal(await repo.update(changed, entry('updated', changed)), true);
    assert.deepEqual(await repo.get(entity.id), changed);
    const ghost = make(2);
    assert.equal(await repo.update(ghost, entry('updated', ghost)), false);
    assert.equal(await repo.get(ghost.id), null);
    assert.equal((await allAudit(current(), { action: `${targetType}.updated` })).length, 1);
  });

  test('delete removes the entity once; deleting again returns false', async () => {
    const repo = repoOf(current());
    const entity = make(1);
    await repo.create(entity, entry('created', entity));
    assert.equal(await repo.delete(entity.id, entry('deleted', entity)), true);
    assert.equal(await repo.get(entity.id), null);
    assert.equal(await repo.delete(entity.id, entry('deleted', entity)), false);
    assert.deepEqual((await repo.list({ limit: 10 })).items, []);
    assert.equal((await allAudit(current(), { targetId: entity.id })).length, 2);
  });

  test("delete makes its audit entry from the entity as it deletes it, a change since the caller's read included", async () => {
    const repo = repoOf(current());
    const read = make(1);
    await repo.create(read, entry('created', read));
    const since = change(read);
    assert.equal(await repo.update(since, entry('updated', since)), true);
    const seen: T[] = [];
    const deleted = (was: T) => (seen.push(was), { ...entry('deleted', was), before: was, after: null });
    assert.equal(await repo.delete(read.id, deleted), true);
    assert.deepEqual(seen, [since]);
    assert.deepEqual((await allAudit(current(), { action: `${targetType}.deleted` }))[0]!.before, JSON.parse(JSON.stringify(since)));
    assert.equal(await repo.delete(read.id, deleted), false);
    assert.equal(seen.length, 1, 'nothing deleted, no entry made');
    assert.equal((await allAudit(current(), { action: `${targetType}.deleted` })).length, 1);
  });
}
