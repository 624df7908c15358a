import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblem } from './support/harness.ts';
import { json, runCli } from './support/cli.ts';
import { PASSWORD, startAuthHarness, type AuthHarness } from './support/oauth.ts';

describe('a user’s console role', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startAuthHarness();
  });
  after(() => h.close());

  test('is set on create, changed and taken away through the admin API, and shown in answers and the audit log', async () => {
    const created = await h.admin('POST', '/users', { username: 'op@example.com', password: PASSWORD, consoleRole: 'operator' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.consoleRole, 'operator');
    assert.equal(created.body.pendingApproval, false);
    const plain = await h.admin('POST', '/users', { username: 'plain@example.com', password: PASSWORD });
    assert.equal(plain.body.consoleRole, null);
    const changed = await h.admin('PATCH', `/users/${created.body.id}`, { consoleRole: 'auditor' });
    assert.equal(changed.body.consoleRole, 'auditor');
    assert.equal((await h.admin('GET', `/users/${created.body.id}`)).body.consoleRole, 'auditor');
    const [entry] = await h.audit('user.updated');
    assert.deepEqual([entry.before.consoleRole, entry.after.consoleRole], ['operator', 'auditor']);
    assert.equal((await h.admin('PATCH', `/users/${created.body.id}`, { consoleRole: null })).body.consoleRole, null);
    expectProblem(await h.admin('PATCH', `/users/${created.body.id}`, { consoleRole: 'root' }), 400, 'VALIDATION_FAILED');
  });

  test('is set with the CLI: users create --console-role and users set-console-role', async () => {
    const env = { GATEHOUSE_URL: h.gh.controlUrl, GATEHOUSE_ADMIN_KEY: h.adminKey };
    const user = json(await runCli(['users', 'create', '--email', 'dev@example.com', '--console-role', 'developer', '--json'], env, `${PASSWORD}\n`));
    assert.equal(user.consoleRole, 'developer');
    const set = await runCli(['users', 'set-console-role', user.id, 'admin'], env);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /console role admin/);
    const none = await runCli(['users', 'set-console-role', user.id, 'none'], env);
    assert.match(none.stdout, /console role none/);
    assert.equal((await h.admin('GET', `/users/${user.id}`)).body.consoleRole, null);
  });
});
