import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { call, listen } from '../support/harness.ts';
import { PASSWORD } from '../support/oauth.ts';
import { assertAccessible, openNav, screenshot, signIn, startBrowserConsole, type BrowserConsole } from '../support/web-console.ts';

// The operators' console in headless Chromium against a real Gatehouse: sign-in with MFA, the
// everyday path (API, app, key, traffic, charts, request log, rotation, revocation), an auditor who
// can change nothing, and the attacks the BFF and the SPA must stop (CSRF, stored XSS).
describe('web console in a browser', () => {
  let h: BrowserConsole;
  before(async () => {
    // Sign-ups wait for an operator's approval, so the Developers page has someone to approve.
    h = await startBrowserConsole({ GATEHOUSE_PORTAL_SIGNUP: 'approval' });
  });
  after(() => h?.close());

  /** Reads /bff/session in the page (the CSRF token a legitimate script has). */
  const session = (page: Page) => page.evaluate(async () => (await (await fetch('/bff/session')).json()) as { csrfToken: string; role: string });
  /** A portal sign-up, as its page sends it: it waits for approval. */
  const signUpWaiting = async (username: string) => {
    const res = await fetch(`${h.base}/bff/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: h.base },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    assert.equal(res.status, 202, await res.text());
  };

  test('an operator signs in with MFA (required of operators by default), publishes an API, registers an app, issues a key, sees its traffic, rotates and revokes it', async () => {
    // Not flagged: the console role alone requires the second factor (authorization.mfaRequiredConsoleRoles).
    const operator = await h.consoleUser('operator');
    const page = await h.person();
    const totpSecret = await signIn(page, h.base, operator.username);
    assert.ok(totpSecret, 'the operator had to enrol a TOTP app: MFA applied to the console sign-in');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    assert.equal((await session(page)).role, 'operator');

    // An API, with the admin API's validation shown beside the field first.
    await openNav(page, 'APIs');
    await assertAccessible(page, 'APIs (empty)');
    await page.getByRole('link', { name: 'Publish an API' }).click();
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('orders');
    await page.getByLabel('Listen path').fill('orders-without-slash');
    await page.getByLabel('Upstream URL').fill(h.upstream.url);
    await page.getByRole('button', { name: 'Publish' }).click();
    const listenPath = page.getByLabel('Listen path');
    await page.locator('.field-error').first().waitFor();
    assert.equal(await listenPath.getAttribute('aria-invalid'), 'true', 'the field with the problem is marked invalid');
    const describedBy = (await listenPath.getAttribute('aria-describedby')) ?? '';
    const fieldError = await page.locator(`[id="${describedBy.split(' ').pop()}"]`).textContent();
    assert.ok(fieldError && fieldError.length > 0, 'the API’s message for listenPath is beside the field');
    assert.match((await page.getByRole('alert').first().textContent()) ?? '', /not valid/, 'the problem’s sentence is shown, not JSON');
    await assertAccessible(page, 'API form with errors');
    await listenPath.fill('/orders');
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.getByRole('heading', { level: 1, name: 'API orders' }).waitFor();

    // An app and a key: the secret once, with a copy button and a warning.
    await openNav(page, 'Apps');
    await page.getByLabel('App name').fill('Shop');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('heading', { level: 1, name: 'App Shop' }).waitFor();
    await page.getByLabel('Key name').fill('shop-live');
    await page.getByRole('checkbox', { name: /orders/ }).check();
    await page.getByRole('button', { name: 'Issue key' }).click();
    const secret = ((await page.getByTestId('secret').textContent()) ?? '').trim();
    assert.match(secret, /^gk_live_/);
    assert.ok(await page.getByRole('button', { name: 'Copy' }).isVisible());
    assert.match((await page.locator('.secret .warning').textContent()) ?? '', /only time/);
    await assertAccessible(page, 'app with a new key');
    await screenshot(page, 'console-new-key');

    // Traffic through the gateway with the key, then the charts and the request log show it.
    for (let i = 0; i < 3; i++) assert.equal((await call(h, '/orders/items', { key: secret })).status, 200);
    assert.equal((await call(h, '/orders/items', { key: 'gk_live_wrong' })).status, 401);
    await h.gh.requestLog?.flush();
    await openNav(page, 'Overview');
    await page
      .getByTestId('total-requests')
      .filter({ hasText: /^[1-9]/ })
      .waitFor();
    assert.ok(Number(await page.getByTestId('total-requests').textContent()) >= 4, 'the overview counts the four requests');
    assert.match((await page.getByTestId('latency').textContent()) ?? '', /^\d+\.\d ms \/ \d+\.\d ms$/, 'p50 / p99 of the range, from the usage totals');
    await page.getByRole('img', { name: /^Latency p50 \/ p99\. whole range: p50 / }).waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await assertAccessible(page, 'overview');
    await screenshot(page, 'console-overview');
    await openNav(page, 'Request log');
    await page.getByRole('cell', { name: 'GET /orders/items' }).first().waitFor();
    assert.ok((await page.getByRole('cell', { name: 'GET /orders/items' }).count()) >= 4);
    await assertAccessible(page, 'request log');
    await screenshot(page, 'console-request-log');

    // The keys expiring soon: a filter beside status, exposure and rotation.
    const ordersId = (await h.admin('GET', '/apis?name=orders')).body.items[0].id as string;
    const otherApp = (await h.admin('POST', '/apps', { name: 'Partners' })).body.id as string;
    for (const [name, days] of [
      ['expires-in-3-days', 3],
      ['expires-in-20-days', 20],
    ] as const) {
      const made = await h.admin('POST', '/keys', { appId: otherApp, name, access: [{ apiId: ordersId }], expiresInSeconds: days * 86_400 });
      assert.equal(made.status, 201, JSON.stringify(made.body));
    }
    await openNav(page, 'Keys');
    await assertAccessible(page, 'keys');
    await page.getByLabel('Expiring').selectOption({ label: 'in the next 7 days' });
    await page.getByRole('link', { name: 'expires-in-20-days' }).waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'expires-in-3-days' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'shop-live' }).count(), 0, 'a key without an expiry is not expiring');
    await page.getByLabel('Expiring').selectOption({ label: 'in the next 30 days' });
    await page.getByRole('link', { name: 'expires-in-20-days' }).waitFor();
    await page.getByLabel('Expiring').selectOption({ label: 'any' });

    // Rotate with grace: both secrets work, and the old key's page shows traffic still on it.
    await page.getByRole('link', { name: 'shop-live' }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Key shop-live' }).waitFor();
    const oldKeyUrl = page.url();
    await page.getByRole('button', { name: 'Rotate' }).click();
    const rotateDialog = page.getByRole('dialog', { name: 'Rotate this key?' });
    assert.match((await rotateDialog.textContent()) ?? '', /stops/, 'the dialog says what will stop working');
    await rotateDialog.getByRole('button', { name: 'Rotate' }).click();
    const newSecret = ((await page.getByTestId('secret').textContent()) ?? '').trim();
    assert.notEqual(newSecret, secret);
    assert.equal((await call(h, '/orders/items', { key: secret })).status, 200, 'the old key works in its grace period');
    assert.equal((await call(h, '/orders/items', { key: newSecret })).status, 200);
    await page.goto(oldKeyUrl);
    await page.getByRole('heading', { name: 'Traffic still on this key' }).waitFor();
    await assertAccessible(page, 'key page in its grace period');
    await screenshot(page, 'console-key-rotated');

    // Revoke the new key with a reason: the gateway refuses it at once.
    await page.getByRole('link', { name: /^key_/ }).filter({ hasText: /key_/ }).last().click();
    await page.getByRole('button', { name: 'Revoke' }).click();
    const revokeDialog = page.getByRole('dialog', { name: 'Revoke this key?' });
    assert.match((await revokeDialog.textContent()) ?? '', /fails/);
    await revokeDialog.getByLabel(/Reason/).fill('test finished');
    await revokeDialog.getByRole('button', { name: 'Revoke' }).click();
    await page.locator('.badge', { hasText: 'revoked' }).first().waitFor();
    assert.equal((await call(h, '/orders/items', { key: newSecret })).status, 401, 'a revoked key is refused');
    const revoked = (await h.audit('key.revoked'))[0];
    assert.match(String(revoked.actor), /user/, 'the revocation is audited under the person');

    // Roles set on an API can be cleared from its page.
    const reports = await h.api('reports', [], { auth: { type: 'bearer', roles: ['admin'] } });
    await page.goto(`${h.base}/console/apis/${reports.id}`);
    await page.getByRole('heading', { level: 1, name: 'API reports' }).waitFor();
    assert.equal(await page.getByLabel('Required roles').inputValue(), 'admin');
    await page.getByLabel('Required roles').fill('');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved.').waitFor();
    assert.equal((await h.admin('GET', `/apis/${reports.id}`)).body.auth.roles, undefined, 'the roles are gone');

    // A policy: the admin API's validation beside the field first, then created, changed, and
    // deleted once no key has it (the dialog names the keys that do).
    await openNav(page, 'Policies');
    await page.getByRole('link', { name: 'Create a policy' }).click();
    await page.getByRole('heading', { level: 1, name: 'Create a policy' }).waitFor();
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('partners');
    await page.getByRole('button', { name: 'Add a rate limit' }).click();
    await page.getByLabel('Limit 1: name').fill('per-minute');
    const requests = page.getByLabel('Limit 1: requests');
    await requests.fill('0');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.locator('.field-error').first().waitFor();
    assert.equal(await requests.getAttribute('aria-invalid'), 'true', 'the limit the API refused is marked beside its field');
    await assertAccessible(page, 'policy form with errors');
    await screenshot(page, 'console-policy-errors');
    await requests.fill('60');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Policy partners' }).waitFor();
    const policyId = new URL(page.url()).pathname.split('/').pop()!;
    assert.equal(await page.getByText('Saved.').count(), 0, 'the new policy\'s page is its own: no "Saved." carried over from the create');
    await page.getByLabel('Requests per period').fill('1000');
    const patched = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().endsWith(`/policies/${policyId}`));
    await page.getByRole('button', { name: 'Save changes' }).click();
    assert.equal((await patched).status(), 200);
    await page.getByText('Saved.').waitFor();
    await page.getByLabel('Scopes', { exact: true }).fill('orders:read');
    await page.getByText('Saved.').waitFor({ state: 'hidden' });
    await page.getByLabel('Scopes', { exact: true }).fill('');
    assert.deepEqual((await h.admin('GET', `/policies/${policyId}`)).body.quota, { limit: 1000, period: 'month' });
    const governed = await h.admin('POST', '/keys', { appId: otherApp, name: 'partner-key', policyId, access: [{ apiId: ordersId }] });
    assert.equal(governed.status, 201, JSON.stringify(governed.body));
    await page.reload();
    await page.getByRole('button', { name: 'Delete this policy' }).click();
    const deleteDialog = page.getByRole('dialog', { name: 'Delete the policy partners?' });
    await deleteDialog.getByRole('link', { name: 'partner-key' }).waitFor();
    assert.ok(await deleteDialog.getByRole('button', { name: 'Delete this policy' }).isDisabled(), 'no deletion while a key has the policy');
    await assertAccessible(page, 'policy deletion dialog');
    await deleteDialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await h.admin('DELETE', `/keys/${governed.body.id}`)).status, 204);
    await page.reload();
    await page.getByRole('button', { name: 'Delete this policy' }).click();
    await deleteDialog.getByText(/No key has this policy/).waitFor();
    await deleteDialog.getByRole('button', { name: 'Delete this policy' }).click();
    await page.getByRole('heading', { level: 1, name: 'Policies' }).waitFor();
    assert.equal((await h.admin('GET', `/policies/${policyId}`)).status, 404);

    // Developers: an invitation link shown once with a copy button; a sign-up waiting is approved.
    await signUpWaiting('waiting@dev.example');
    await openNav(page, 'Developers');
    await page.getByLabel('E-mail address').fill('invited@dev.example');
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    const link = ((await page.getByTestId('secret').textContent()) ?? '').trim();
    assert.match(link, /\/developers\/signup\?invite=[\w-]{43}$/);
    assert.ok(link.startsWith(h.base), 'a whole link, to send as it is');
    assert.ok(await page.getByRole('button', { name: 'Copy' }).isVisible());
    await screenshot(page, 'console-developers');
    await page
      .getByRole('row', { name: /waiting@dev\.example/ })
      .getByRole('button', { name: 'Approve' })
      .click();
    await page.getByRole('dialog', { name: 'Approve waiting@dev.example?' }).getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Nobody is waiting for approval.').waitFor();
    await assertAccessible(page, 'developers');
    const approved = (await h.audit('user.approved'))[0];
    assert.match(String(approved.actor), /user/, 'the approval is audited under the person');
    await page.context().close();
  });

  test('an app whose keys are all revoked is deleted with them from its page; while a key is in use the dialog says why not', async () => {
    const operator = await h.consoleUser('operator');
    const page = await h.person();
    await signIn(page, h.base, operator.username);
    const api = await h.api('retiring', []);
    const appId = (await h.admin('POST', '/apps', { name: 'Retiring shop' })).body.id as string;
    const key = await h.admin('POST', '/keys', { appId, name: 'last-key', access: [{ apiId: api.id }] });
    assert.equal(key.status, 201, JSON.stringify(key.body));

    await page.goto(`${h.base}/console/apps/${appId}`);
    await page.getByRole('heading', { level: 1, name: 'App Retiring shop' }).waitFor();
    await page.getByRole('button', { name: 'Delete this app' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete the app Retiring shop?' });
    assert.match((await dialog.textContent()) ?? '', /revoked and expired keys are deleted with it/);
    await dialog.getByRole('button', { name: 'Delete this app' }).click();
    await dialog.getByText(/keys in use/).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await h.admin('GET', `/apps/${appId}`)).status, 200, 'nothing was deleted');

    assert.equal((await h.admin('POST', `/keys/${key.body.id}/revoke`, { reason: 'retired' })).status, 200);
    await page.getByRole('button', { name: 'Delete this app' }).click();
    await dialog.getByRole('button', { name: 'Delete this app' }).click();
    await page.getByRole('heading', { level: 1, name: 'Apps' }).waitFor();
    assert.equal((await h.admin('GET', `/apps/${appId}`)).status, 404);
    assert.equal((await h.admin('GET', `/keys/${key.body.id}`)).status, 404, 'its revoked key went with it');
    await page.context().close();
  });

  test('an auditor sees no write buttons, and the admin API refuses their writes with 403', async () => {
    const api = await h.api('catalog', []);
    const app = await h.admin('POST', '/apps', { name: 'Audited app' });
    const key = await h.admin('POST', '/keys', { appId: app.body.id, access: [{ apiId: api.id }], name: 'audited-key' });
    const auditor = await h.consoleUser('auditor');
    const page = await h.person();
    await signIn(page, h.base, auditor.username);
    assert.equal((await session(page)).role, 'auditor');
    const nav = page.getByRole('navigation', { name: 'Console' });
    assert.equal(await nav.getByRole('link', { name: 'Users' }).count(), 1, 'users:read is a read permission');

    await openNav(page, 'APIs');
    await page.getByRole('link', { name: 'catalog' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Publish an API' }).count(), 0);
    await page.goto(`${h.base}/console/apis/${api.id}`);
    await page.getByRole('heading', { level: 1, name: 'API catalog' }).waitFor();
    await page.getByText('No route rules.').waitFor();
    assert.deepEqual(await page.locator('#main').getByRole('button').allTextContents(), [], 'no button at all on the API page');
    await page.goto(`${h.base}/console/apps/${app.body.id}`);
    await page.getByRole('heading', { level: 1, name: 'App Audited app' }).waitFor();
    assert.equal(await page.getByRole('button', { name: /Issue key|Delete/ }).count(), 0);
    await page.goto(`${h.base}/console/keys/${key.body.id}`);
    await page.getByRole('heading', { level: 1, name: 'Key audited-key' }).waitFor();
    await page.getByRole('heading', { name: 'Impact report' }).waitFor();
    assert.equal(await page.getByRole('button', { name: /Rotate|Revoke|Disable|Mark compromised/ }).count(), 0, 'no key actions');
    await openNav(page, 'Keys');
    await page.getByRole('link', { name: 'audited-key' }).waitFor();
    assert.equal(await page.getByRole('checkbox').count(), 0, 'no bulk selection');
    await assertAccessible(page, 'keys as an auditor');
    await openNav(page, 'Policies');
    await page.getByRole('heading', { level: 1, name: 'Policies' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Create a policy' }).count(), 0);
    await signUpWaiting('seen-by-auditor@dev.example');
    await openNav(page, 'Developers');
    await page.getByRole('row', { name: /seen-by-auditor@dev\.example/ }).waitFor();
    assert.equal(
      await page
        .locator('#main')
        .getByRole('button', { name: /Invite|Approve/ })
        .count(),
      0,
      'no invitation, no approval',
    );

    // Even with the CSRF token, the API refuses an auditor's write.
    const refused = await page.evaluate(async () => {
      const s = (await (await fetch('/bff/session')).json()) as { csrfToken: string };
      const res = await fetch('/admin/v1/apps', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken },
        body: '{"name":"by auditor"}',
      });
      return { status: res.status, body: (await res.json()) as { code?: string } };
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'PERMISSION_DENIED');
    assert.equal((await h.admin('GET', '/apps?name=by%20auditor')).body.items.length, 0);
    await page.context().close();
  });

  test('a page on another origin cannot make the signed-in browser change anything (CSRF)', async () => {
    const admin = await h.consoleUser('admin');
    const page = await h.person();
    await signIn(page, h.base, admin.username);
    // Same site (127.0.0.1), another origin (port): SameSite alone would not stop it; the CSRF
    // token and the Origin check must.
    const target = `${h.base}/admin/v1/apps`;
    const evil = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><title>evil</title>
        <form id="f" method="post" action="${target}" enctype="text/plain"><input name='{"name":"csrf-form","x":"' value='"}' /></form>
        <script>
          fetch(${JSON.stringify(target)}, { method: 'POST', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{"name":"csrf-fetch"}' })
            .then((r) => { document.title = 'fetch:' + r.status; }, () => { document.title = 'fetch:blocked'; })
            .finally(() => document.getElementById('f').submit());
        </script>`);
    });
    const evilUrl = await listen(evil);
    try {
      const attack = await page.context().newPage();
      const formAnswer = attack.waitForResponse((r) => r.url() === target && r.request().method() === 'POST' && r.request().resourceType() === 'document');
      await attack.goto(evilUrl);
      const answered = await formAnswer;
      assert.equal(answered.status(), 403, 'the cross-origin form post is refused');
      for (const name of ['csrf-form', 'csrf-fetch'])
        assert.equal((await h.admin('GET', `/apps?name=${name}`)).body.items.length, 0, `${name}: nothing was created`);
      // The same session works from the console itself (the refusal was about the origin).
      const own = await page.evaluate(async () => {
        const s = (await (await fetch('/bff/session')).json()) as { csrfToken: string };
        return (
          await fetch('/admin/v1/apps', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken },
            body: '{"name":"legit"}',
          })
        ).status;
      });
      assert.equal(own, 201);
      // And without the token, from the console's own origin, it is refused too.
      const noToken = await page.evaluate(
        async () => (await fetch('/admin/v1/apps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"no-token"}' })).status,
      );
      assert.equal(noToken, 403);
    } finally {
      evil.close();
      await page.context().close();
    }
  });

  test('names and metadata holding HTML or script render as text and run nothing (stored XSS)', async () => {
    const admin = await h.consoleUser('admin');
    const page = await h.person();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await signIn(page, h.base, admin.username);
    const api = await h.api('xss-api', []);
    const evilName = `<img src=x onerror="window.__xss='app-name'">`;
    await openNav(page, 'Apps');
    await page.getByLabel('App name').fill(evilName);
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('heading', { level: 1, name: `App ${evilName}` }).waitFor();
    await page.getByLabel('Key name').fill(`<script>window.__xss='key-name'</script>`);
    await page.getByRole('checkbox', { name: /xss-api/ }).check();
    await page.getByLabel('Metadata (JSON)').fill(JSON.stringify({ note: `<script>window.__xss='meta'</script>`, img: `<img src=x onerror="alert('meta')">` }));
    await page.getByRole('button', { name: 'Issue key' }).click();
    await page.getByTestId('secret').waitFor();
    await page
      .getByRole('link', { name: /<script>/ })
      .first()
      .click();
    await page.getByRole('heading', { level: 1, name: /^Key <script>/ }).waitFor();
    assert.ok(await page.getByText(`<img src=x onerror="alert('meta')">`).isVisible(), 'metadata shows as text');
    for (const path of ['/console/apps', '/console/keys', `/console/apis/${api.id}`, '/console/audit']) {
      await page.goto(`${h.base}${path}`);
      await page.locator('#main h1').waitFor();
      await page.waitForLoadState('networkidle');
    }
    assert.equal(await page.evaluate(() => (globalThis as { __xss?: string }).__xss), undefined, 'no injected script ran');
    assert.deepEqual(dialogs, [], 'no alert');
    assert.equal(await page.locator('#main img').count(), 0, 'no image element was created from the data');
    await page.context().close();
  });

  test('an admin who makes a developer an operator on the Users page sees a second factor required of them at once', async () => {
    const admin = await h.consoleUser('admin');
    const developer = await h.consoleUser('developer');
    const page = await h.person();
    assert.ok(await signIn(page, h.base, admin.username), 'the admin enrolled TOTP: required of admins by default');
    await openNav(page, 'Users');
    const row = page.getByRole('row').filter({ hasText: developer.username });
    const mfaCell = row.getByRole('cell').nth(3);
    assert.equal(await mfaCell.textContent(), 'off');
    await row.getByLabel(`Console role of ${developer.username}`).selectOption('operator');
    // The list is read again after the change: the row says what the admin API now answers.
    await row.getByRole('cell', { name: 'required, not enrolled', exact: true }).waitFor();
    assert.equal(await mfaCell.textContent(), 'required, not enrolled');
    assert.equal((await h.admin('GET', `/users/${developer.id}`)).body.mfa.required, true);
    await page.context().close();
  });

  test('every main console page passes axe-core (no serious or critical violations), and works one column wide', async () => {
    const admin = await h.consoleUser('admin');
    const page = await h.person();
    await signIn(page, h.base, admin.username);
    const pages: [string, string][] = [
      ['Overview', 'Overview'],
      ['APIs', 'APIs'],
      ['Apps', 'Apps'],
      ['Keys', 'Keys'],
      ['Request log', 'Request log'],
      ['Audit log', 'Audit log'],
      ['Policies', 'Policies'],
      ['OAuth clients', 'OAuth clients'],
      ['Users', 'Users'],
      ['Developers', 'Developers'],
      ['Signing keys', 'Signing keys'],
      ['Webhooks', 'Webhooks'],
    ];
    for (const [label, heading] of pages) {
      await openNav(page, label, heading);
      await page.waitForLoadState('networkidle');
      await assertAccessible(page, label);
    }
    // Narrow screen: the navigation sits above the content, one column.
    await page.setViewportSize({ width: 390, height: 844 });
    await openNav(page, 'Keys');
    const nav = await page.getByRole('navigation', { name: 'Console' }).boundingBox();
    const main = await page.locator('#main').boundingBox();
    assert.ok(nav && main && main.y >= nav.y + nav.height - 1 && main.width > 300, 'one column under 700 px');
    await assertAccessible(page, 'keys on a narrow screen');
    await screenshot(page, 'console-narrow');
    await page.context().close();
  });
});
