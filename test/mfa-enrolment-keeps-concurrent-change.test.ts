import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { currentTotp } from '../src/domain/totp.ts';
import { asPage, authorizationUrl, Browser, PASSWORD, REDIRECT, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * TOTP enrolment at sign-in writes the user it read at the start of the request. An admin's change
 * stored in between (disabling the user, new roles) must not be written over: the enrolment is a
 * compare-and-set on the user's version, as spending a code is.
 */
describe('TOTP enrolment racing an admin change to the user', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startAuthHarness();
  });
  after(() => h.close());

  let web: Awaited<ReturnType<AuthHarness['client']>>;
  before(async () => {
    const api = await h.api('orders', ['orders:read']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [api.id], firstParty: true });
  });

  /** Signs in to the enrolment page, then submits a right code while `change` is made between the enrolment's read and write. */
  async function enrolDuring(change: Record<string, unknown>) {
    const user = await h.user({ mfaRequired: true });
    const browser = new Browser(h.issuer);
    const login = asPage(await browser.go((await authorizationUrl(h, web.id)).url));
    const enrol = asPage(await browser.submit(login, { username: user.username, password: PASSWORD }, '/login'));
    const secret = /aria-label="Setup key">([A-Z2-7 ]+)</.exec(enrol.html)![1]!.replace(/ /g, '');

    // The enrolment reads the user; an operator disables them before it writes.
    const users = h.gh.ctx.store.users;
    const get = users.get;
    let armed = true;
    users.get = async (id) => {
      const read = await get.call(users, id);
      if (armed && id === user.id) {
        armed = false;
        assert.equal((await h.admin('PATCH', `/users/${user.id}`, change)).status, 200);
      }
      return read;
    };
    try {
      await browser.submit(enrol, { code: currentTotp(secret, Date.now()) }, '/mfa');
      assert.equal(armed, false, 'the change was made during the enrolment');
      return { user, browser, enrol, secret };
    } finally {
      users.get = get;
    }
  }

  test('a user disabled while enrolling stays disabled, and is not enrolled from the stale copy', async () => {
    const { user } = await enrolDuring({ disabled: true });
    const view = (await h.admin('GET', `/users/${user.id}`)).body;
    assert.equal(view.disabled, true, 'the operator’s change stands');
    assert.deepEqual(view.mfa, { required: true, enrolled: false, recoveryCodesLeft: 0 });
  });

  test('after a harmless change (new roles) the next code enrols, and the roles stand', async () => {
    const { user, browser, enrol, secret } = await enrolDuring({ roles: ['auditor'] });
    assert.deepEqual((await h.admin('GET', `/users/${user.id}`)).body.mfa, { required: true, enrolled: false, recoveryCodesLeft: 0 });
    const codes = asPage(await browser.submit(enrol, { code: currentTotp(secret, Date.now()) }, '/mfa'));
    assert.match(codes.html, /<li><code>/, 'the recovery codes are shown');
    const view = (await h.admin('GET', `/users/${user.id}`)).body;
    assert.deepEqual(view.roles, ['auditor']);
    assert.deepEqual(view.mfa, { required: true, enrolled: true, recoveryCodesLeft: 10 });
  });
});
