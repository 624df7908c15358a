import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_ROUTES } from '../src/control/admin/routes.ts';
import { expectProblem } from './support/harness.ts';
import { signInConsole, startConsoleHarness, type ConsoleBrowser } from './support/console.ts';
import type { AuthHarness } from './support/oauth.ts';

/** A concrete path for a route template: every parameter a well-formed id that names nothing. */
const concrete = (path: string) =>
  `/admin/v1${path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'id' ? 'key_00000000000000000000000000000000' : 'x'))}`;

describe('the admin API takes the web app’s session beside admin keys: permissions from the role, CSRF defences, audited as the person', () => {
  let h: AuthHarness;
  let auditor: ConsoleBrowser;
  let operator: ConsoleBrowser;
  let operatorId: string;
  before(async () => {
    h = await startConsoleHarness();
    auditor = await signInConsole(h, (await h.user({ consoleRole: 'auditor' })).username, { secondFactor: false });
    const op = await h.user({ consoleRole: 'operator' });
    operatorId = op.id;
    operator = await signInConsole(h, op.username, { secondFactor: true });
  });
  after(() => h.close());

  test('an auditor is refused every route that is not a read, walking the route table', async () => {
    const writes = ADMIN_ROUTES.filter((r) => !r.permission.endsWith(':read'));
    assert.ok(writes.length >= 30, `${writes.length} routes`);
    for (const r of writes) {
      const res = await auditor.call(r.method.toUpperCase(), concrete(r.path), r.method === 'delete' ? undefined : {});
      expectProblem(res, 403, 'PERMISSION_DENIED');
      assert.match(res.body.detail, new RegExp(r.permission), `${r.method} ${r.path}`);
    }
  });

  test('an auditor reads every read route (nothing answers 401 or 403)', async () => {
    for (const r of ADMIN_ROUTES.filter((x) => x.method === 'get')) {
      const res = await auditor.call('GET', concrete(r.path));
      assert.ok(![401, 403].includes(res.status), `${r.path}: ${res.status} ${JSON.stringify(res.body)}`);
    }
  });

  test('a state change without the CSRF token, with a wrong one, or from another site is refused with 403 CSRF_REJECTED and changes nothing', async () => {
    const apps = async () => (await h.admin('GET', '/apps?limit=100')).body.items.length;
    const count = await apps();
    const attempts: Record<string, string>[] = [
      { 'x-csrf-token': '' },
      { 'x-csrf-token': operator.csrf.slice(0, -1) + (operator.csrf.endsWith('A') ? 'B' : 'A') },
      { 'x-csrf-token': auditor.csrf },
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of attempts) {
      expectProblem(await operator.call('POST', '/admin/v1/apps', { name: 'csrf' }, headers), 403, 'CSRF_REJECTED');
      expectProblem(await operator.call('DELETE', `/admin/v1/apps/app_00000000000000000000000000000000`, undefined, headers), 403, 'CSRF_REJECTED');
    }
    // Without Origin at all (a browser always sends it on a POST).
    const res = await fetch(`${h.issuer}/admin/v1/apps`, {
      method: 'POST',
      headers: { cookie: `__Host-gatehouse-session=${operator.session}`, 'x-csrf-token': operator.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'csrf' }),
    });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { code: string }).code, 'CSRF_REJECTED');
    assert.equal(await apps(), count);
    // GET and HEAD need no token.
    assert.equal((await operator.call('GET', '/admin/v1/apps', undefined, { origin: 'https://evil.example' })).status, 200);
  });

  test('a change made through the session is audited under the person, with their name', async () => {
    const created = await operator.call('POST', '/admin/v1/apps', { name: 'made by a person' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const [entry] = (await h.admin('GET', `/audit?targetId=${created.body.id}`)).body.items;
    assert.equal(entry.actor, `user:${operatorId}`);
    assert.equal(entry.actorName, operator.sessionBody.user.name);
    assert.equal(entry.action, 'app.created');
  });

  test('an operator may not manage users or signing keys; a developer may use no admin route', async () => {
    expectProblem(await operator.call('POST', '/admin/v1/users', { username: 'x@example.com', password: 'a long enough password' }), 403, 'PERMISSION_DENIED');
    expectProblem(await operator.call('POST', '/admin/v1/signing-keys/rotate', {}), 403, 'PERMISSION_DENIED');
    assert.equal((await operator.call('GET', '/admin/v1/users')).status, 200);
    const developer = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false });
    expectProblem(await developer.call('GET', '/admin/v1/apis'), 403, 'PERMISSION_DENIED');
  });

  test('an admin key still works, and a request with both an admin key and a cookie is judged by the key', async () => {
    const res = await fetch(`${h.issuer}/admin/v1/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.adminKey}`, cookie: `__Host-gatehouse-session=${auditor.session}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'by key' }),
    });
    assert.equal(res.status, 201);
  });
});
