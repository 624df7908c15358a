import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { AuditInput } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import { audit, allAudit, makeApp } from './fixtures.ts';

/** The audit log: one entry per change, events without a change, newest first with a cursor. */
export function auditContract(current: () => Store): void {
  describe('audit', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    test('every change writes one audit entry with its actor, action, target and payload', async () => {
      const app = makeApp(1);
      const input: AuditInput = {
        actor: 'cli',
        action: 'app.created',
        targetType: 'app',
        targetId: app.id,
        before: null,
        after: { name: app.name },
        requestId: 'req-42',
      };
      await store.apps.create(app, input);
      await store.apps.update({ ...app, name: 'b' }, audit('app.updated', 'app', app.id));
      await store.apps.delete(app.id, audit('app.deleted', 'app', app.id));
      const entries = await allAudit(store, { targetId: app.id });
      assert.deepEqual(entries.map((e) => e.action).sort(), ['app.created', 'app.deleted', 'app.updated']);
      const created = entries.find((e) => e.action === 'app.created');
      assert.ok(created);
      const { id: auditId, at, ...rest } = created;
      assert.deepEqual(rest, input);
      assert.equal(typeof auditId, 'string');
      assert.ok(Number.isFinite(at) && at > 0);
    });

    test('audit.list is newest first, pages with a cursor and filters by target and action', async () => {
      const apps = [makeApp(1), makeApp(2), makeApp(3)];
      for (const app of apps) await store.apps.create(app, audit('app.created', 'app', app.id));
      await store.apps.update({ ...apps[0]!, name: 'x' }, audit('app.updated', 'app', apps[0]!.id));
      const all = await allAudit(store);
      assert.deepEqual(
        all.map((e) => [e.action, e.targetId]),
        [
          ['app.updated', apps[0]!.id],
          ['app.created', apps[2]!.id],
          ['app.created', apps[1]!.id],
          ['app.created', apps[0]!.id],
        ],
      );
      assert.equal(new Set(all.map((e) => e.id)).size, 4);
      assert.deepEqual(
        (await allAudit(store, { targetId: apps[0]!.id })).map((e) => e.action),
        ['app.updated', 'app.created'],
      );
      assert.deepEqual(
        (await allAudit(store, { action: 'app.created' })).map((e) => e.targetId),
        [apps[2]!.id, apps[1]!.id, apps[0]!.id],
      );
      const firstPage = await store.audit.list({ limit: 4 });
      assert.equal(firstPage.items.length, 4);
      assert.equal(firstPage.nextCursor, null);
    });

    test('audit.append records an event with no entity change', async () => {
      await store.audit.append(audit('user.login_failed', 'user', 'usr_x', { reason: 'password' }));
      const [entry] = await allAudit(store, { action: 'user.login_failed' });
      assert.equal(entry?.targetId, 'usr_x');
      assert.deepEqual(entry?.after, { reason: 'password' });
    });

    test('audit.after reads changes in commit order from a seq, and lastSeq is where the newest is', async () => {
      assert.equal(await store.audit.lastSeq(), 0);
      assert.deepEqual(await store.audit.after(0, 10), []);
      const apps = [makeApp(1), makeApp(2)];
      for (const app of apps) await store.apps.create(app, audit('app.created', 'app', app.id));
      await store.apps.update({ ...apps[0]!, name: 'x' }, audit('app.updated', 'app', apps[0]!.id));
      await store.audit.append(audit('user.login_failed', 'user', 'usr_x'));
      const changes = await store.audit.after(0, 10);
      assert.deepEqual(
        changes.map((c) => [c.action, c.targetType, c.targetId]),
        [
          ['app.created', 'app', apps[0]!.id],
          ['app.created', 'app', apps[1]!.id],
          ['app.updated', 'app', apps[0]!.id],
          ['user.login_failed', 'user', 'usr_x'],
        ],
      );
      assert.ok(changes.every((c, i) => i === 0 || c.seq > changes[i - 1]!.seq));
      assert.ok(changes.every((c) => Number.isFinite(c.at) && c.at > 0));
      assert.equal(await store.audit.lastSeq(), changes.at(-1)!.seq);
      assert.deepEqual(await store.audit.after(changes[1]!.seq, 1), [changes[2]]);
      assert.deepEqual(await store.audit.after(changes.at(-1)!.seq, 10), []);
      // A change that fails writes no entry, so it is not in the feed.
      assert.equal(await store.apps.update(makeApp(3), audit('app.updated', 'app', 'app_missing')), false);
      assert.equal(await store.audit.lastSeq(), changes.at(-1)!.seq);
    });
  });
}
