import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { expectProblem } from './support/harness.ts';
import { signUp, startConsoleHarness } from './support/console.ts';
import { PASSWORD, type AuthHarness } from './support/oauth.ts';

describe('an invitation is spent only by the account it makes', () => {
  let h: AuthHarness;
  let db: DatabaseSync;
  before(async () => {
    h = await startConsoleHarness();
    db = new DatabaseSync(join(h.dir, 'gatehouse.db'), { timeout: 5000 });
  });
  after(async () => {
    db.close();
    await h.close();
  });

  test('a sign-up whose account the store refuses leaves the invitation usable, and the retry spends it', async () => {
    const invite = await h.admin('POST', '/portal/invites', { email: 'retry@dev.example' });
    assert.equal(invite.status, 201, JSON.stringify(invite.body));
    // The store refuses the account's row (as a full disk would), and only that write.
    db.exec(`CREATE TRIGGER refuse_users BEFORE INSERT ON users BEGIN SELECT RAISE(ABORT, 'the store refuses the write'); END`);
    try {
      const failed = await signUp(h, { username: 'retry@dev.example', password: PASSWORD, invite: invite.body.token });
      assert.ok(failed.status >= 500, `the sign-up fails with the store: ${JSON.stringify(failed.body)}`);
    } finally {
      db.exec('DROP TRIGGER refuse_users');
    }
    const retried = await signUp(h, { username: 'retry@dev.example', password: PASSWORD, invite: invite.body.token });
    assert.equal(retried.status, 201, `the same invitation after a failed sign-up: ${JSON.stringify(retried.body)}`);
    expectProblem(await signUp(h, { username: 'retry@dev.example', password: PASSWORD, invite: invite.body.token }), 403, 'SIGN_UP_CLOSED');
  });

  test('of two sign-ups racing with one invitation, one makes the account and the other is refused', async () => {
    const invite = await h.admin('POST', '/portal/invites', { email: 'race@dev.example' });
    const both = await Promise.all([1, 2].map(() => signUp(h, { username: 'race@dev.example', password: PASSWORD, invite: invite.body.token })));
    const made = both.filter((r) => r.status === 201);
    assert.equal(made.length, 1, JSON.stringify(both.map((r) => r.body)));
    const refused = both.find((r) => r.status !== 201)!;
    assert.ok(refused.status === 403 || refused.status === 409, JSON.stringify(refused.body));
    assert.equal((await h.admin('GET', '/audit?action=user.created&targetId=' + made[0]!.body.user.id)).body.items.length, 1);
  });
});
