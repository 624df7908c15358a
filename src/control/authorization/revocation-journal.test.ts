import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PendingRevocations } from './oidc-adapter.ts';
import { REVOCATION_JOURNAL_DIR, RevocationJournal } from './revocation-journal.ts';

const root = mkdtempSync(join(tmpdir(), 'gatehouse-revocation-journal-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const dataDir = () => join(root, `data-${++dirs}`);
const noUnreadable = (file: string, error: unknown) => assert.fail(`${file}: ${String(error)}`);

test('a pending grant revocation is journaled when added and restored by a new process on the same data dir; settled, its file goes', async () => {
  const dir = dataDir();
  const before = new PendingRevocations(new RevocationJournal(dir));
  await before.add('grant-1', false);
  await before.add('grant/../2', true);
  // A later revocation of the same grant that deletes the grant record too widens the entry, never narrows it.
  await before.add('grant-1', true);
  await before.add('grant-1', false);

  const after = new PendingRevocations(new RevocationJournal(dir));
  assert.equal(await after.restore(noUnreadable), 2);
  assert.deepEqual(after.entries().sort(), [
    ['grant-1', true],
    ['grant/../2', true],
  ]);
  assert.equal(readdirSync(join(dir, REVOCATION_JOURNAL_DIR)).length, 2, 'a grant id is a file name, never a path');

  // A revocation without the grant record does not settle one that deletes it.
  await after.settle('grant-1', false);
  assert.equal(after.size, 2);
  await after.settle('grant-1', true);
  await after.settle('grant/../2', true);
  assert.equal(after.size, 0);
  assert.deepEqual(readdirSync(join(dir, REVOCATION_JOURNAL_DIR)), []);
  assert.equal(await new PendingRevocations(new RevocationJournal(dir)).restore(noUnreadable), 0);
});

test('no journal folder is nothing pending; a file left unreadable is reported and kept, a temporary file a crash left is skipped', async () => {
  const dir = dataDir();
  assert.equal(await new PendingRevocations(new RevocationJournal(dir)).restore(noUnreadable), 0);
  const pending = new PendingRevocations(new RevocationJournal(dir));
  await pending.add('grant-1', true);
  const folder = join(dir, REVOCATION_JOURNAL_DIR);
  writeFileSync(join(folder, 'Z3JhbnQtMg'), '{"grantId":"grant-');
  writeFileSync(join(folder, '.Z3JhbnQtMw.0a1b2c'), '{"grantId":"grant-3","withGrant":true}');
  const unreadable: string[] = [];
  const restored = new PendingRevocations(new RevocationJournal(dir));
  assert.equal(await restored.restore((file) => unreadable.push(file)), 1);
  assert.deepEqual(restored.entries(), [['grant-1', true]]);
  assert.deepEqual(unreadable, [join(folder, 'Z3JhbnQtMg')]);
  assert.ok(readdirSync(folder).includes('Z3JhbnQtMg'), 'left for an operator: removing it would forget a revocation');
});

test('a journal that cannot be written leaves the revocation pending in memory, and says so until it is journaled', async () => {
  // The data dir is a file: nothing can be made under it.
  const dir = dataDir();
  writeFileSync(dir, 'not a folder');
  const pending = new PendingRevocations(new RevocationJournal(dir));
  await pending.add('grant-1', true);
  assert.deepEqual(pending.entries(), [['grant-1', true]]);
  await assert.rejects(pending.resync(), /1 pending grant revocation\(s\) could not be journaled to disk \(lost on a restart\)/);
  rmSync(dir);
  await pending.resync();
  const restored = new PendingRevocations(new RevocationJournal(dir));
  assert.equal(await restored.restore(noUnreadable), 1);
});

test('the parallel revocations of one reuse write its file once; closed (the node stopping), the journal writes nothing more', async () => {
  const dir = dataDir();
  const pending = new PendingRevocations(new RevocationJournal(dir));
  const folder = join(dir, REVOCATION_JOURNAL_DIR);
  await pending.add('grant-1', true);
  const [name] = readdirSync(folder);
  const written = statSync(join(folder, name!)).ino;
  // oidc-provider revokes a reused token's grant model by model, in parallel: each failure adds it again.
  await Promise.all([pending.add('grant-1', false), pending.add('grant-1', true)]);
  assert.equal(statSync(join(folder, name!)).ino, written, 'not written again: each write is a new file renamed into place');
  pending.close();
  await pending.settle('grant-1', true);
  await pending.add('grant-2', true);
  assert.deepEqual(readdirSync(folder), [name], 'left for the next start, and nothing new written');
  assert.equal(await new PendingRevocations(new RevocationJournal(dir)).restore(noUnreadable), 1);
});
