import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { User } from '../src/domain/entities.ts';
import { asPage, authorizationUrl, Browser, PASSWORD, REDIRECT, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * Writes of a user read it, then store it whole. A change another request stores between the read and
 * the write (an operator disabling the user, new roles) must not be written over with the copy read
 * before it: each write is a compare-and-set on the user's version, read again on a race.
 */
describe('changes to a user racing other changes to it', () => {
  let h: AuthHarness;
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  before(async () => {
    h = await startAuthHarness();
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: [], firstParty: true });
  });
  after(() => h.close());

  /** Runs `during` once, right after the store's first read of this user from now on, before that read is answered. */
  async function afterFirstRead<T>(userId: string, during: () => Promise<unknown>, run: () => Promise<T>): Promise<T> {
    const users = h.gh.ctx.store.users;
    const get = users.get;
    let armed = true;
    users.get = async (id): Promise<User | null> => {
      const read = await get.call(users, id);
      if (armed && id === userId) {
        armed = false;
        await during();
      }
      return read;
    };
    try {
      const result = await run();
      assert.equal(armed, false, 'the other change was made during this one');
      return result;
    } finally {
      users.get = get;
    }
  }

  test('a user disabled while their sign-in completes stays disabled, and the sign-in is refused', async () => {
    const user = await h.user();
    const browser = new Browser(h.issuer);
    const login = asPage(await browser.go((await authorizationUrl(h, web.id)).url));
    const disable = async () => assert.equal((await h.admin('PATCH', `/users/${user.id}`, { disabled: true })).status, 200);
    // The password form reads the user by name; the first read by id is the sign-in's last check before it stamps lastLoginAt.
    const answer = await afterFirstRead(user.id, disable, () => browser.submit(login, { username: user.username, password: PASSWORD }, '/login'));
    assert.equal((await h.admin('GET', `/users/${user.id}`)).body.disabled, true, 'the operator’s disable stands');
    assert.equal(asPage(answer).status, 403, 'a user disabled before the sign-in completed is not signed in');
  });

  test('an operator’s role change racing another’s disable keeps both', async () => {
    const user = await h.user();
    const disable = async () => assert.equal((await h.admin('PATCH', `/users/${user.id}`, { disabled: true })).status, 200);
    const roles = await afterFirstRead(user.id, disable, () => h.admin('PATCH', `/users/${user.id}`, { roles: ['auditor'] }));
    assert.equal(roles.status, 200, JSON.stringify(roles.body));
    const view = (await h.admin('GET', `/users/${user.id}`)).body;
    assert.equal(view.disabled, true, 'the disable stands');
    assert.deepEqual(view.roles, ['auditor'], 'the role change stands');
  });
});
