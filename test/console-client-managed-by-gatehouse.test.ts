import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CONSOLE_CLIENT_ID } from '../src/control/console/console-client.ts';
import { expectProblem } from './support/harness.ts';
import { signInConsole, startConsoleHarness, type ConsoleBrowser } from './support/console.ts';
import type { AuthHarness } from './support/oauth.ts';

/**
 * The web app's own OAuth client (cli_...c0de) is Gatehouse's: its secret is derived from the master key
 * and never shown. An operator (no users:write, no signing_keys:write) or an admin key with clients:write
 * must not be able to take its secret, disable it, repoint it or delete it: each would end every
 * person's sign-in to the console, admins' included, and a disabled client stays disabled across restarts.
 */
describe('the web app’s OAuth client cannot be changed through the admin API', () => {
  let h: AuthHarness;
  let operator: ConsoleBrowser;
  let admin: { username: string };
  before(async () => {
    h = await startConsoleHarness();
    operator = await signInConsole(h, (await h.user({ consoleRole: 'operator' })).username, { secondFactor: true });
    admin = await h.user({ consoleRole: 'admin' });
  });
  after(() => h.close());

  test('an operator can neither take its secret, disable it, repoint it nor delete it; admins still sign in', async () => {
    const rotated = await operator.call('POST', `/admin/v1/clients/${CONSOLE_CLIENT_ID}/secret`);
    assert.equal(rotated.body?.secret, undefined, 'the console client’s secret is not handed out');
    expectProblem(rotated, 409, 'CONFLICT');
    expectProblem(await operator.call('PATCH', `/admin/v1/clients/${CONSOLE_CLIENT_ID}`, { disabled: true }), 409, 'CONFLICT');
    expectProblem(await operator.call('PATCH', `/admin/v1/clients/${CONSOLE_CLIENT_ID}`, { redirectUris: ['https://evil.example/cb'] }), 409, 'CONFLICT');
    expectProblem(await operator.call('DELETE', `/admin/v1/clients/${CONSOLE_CLIENT_ID}`), 409, 'CONFLICT');
    const client = (await h.admin('GET', `/clients/${CONSOLE_CLIENT_ID}`)).body;
    assert.deepEqual([client.disabled, client.redirectUris], [false, [`${h.issuer}/bff/callback`]], 'nothing changed');
    const session = await signInConsole(h, admin.username, { secondFactor: true });
    assert.equal(session.sessionBody.role, 'admin');
  });

  test('an admin key with clients:write is refused the same way', async () => {
    expectProblem(await h.admin('PATCH', `/clients/${CONSOLE_CLIENT_ID}`, { disabled: true }), 409, 'CONFLICT');
    expectProblem(await h.admin('POST', `/clients/${CONSOLE_CLIENT_ID}/secret`), 409, 'CONFLICT');
  });
});
