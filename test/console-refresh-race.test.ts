import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signInConsole, startConsoleHarness } from './support/console.ts';
import type { AuthHarness } from './support/oauth.ts';

/**
 * The web app loads a page with several requests at once. When its access token has expired, one of
 * them refreshes it; another that read the session before that refresh landed, but reaches the refresh
 * after it finished (the one-refresh-at-a-time guard is gone by then), must not refresh again with the
 * refresh token just rotated away: that is a reuse, which revokes the grant and signs the person out.
 */
describe('a session’s refresh is not repeated with a stale refresh token', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startConsoleHarness();
  });
  after(() => h.close());

  test('a request that read the session before another request refreshed it keeps the session (no refresh-token reuse)', async () => {
    const user = await h.user({ consoleRole: 'operator' });
    const c = await signInConsole(h, user.username, { secondFactor: true });
    const sessions = h.gh.ctx.store.consoleSessions;
    const [stale] = await sessions.listForUser(user.id, h.clock.read());
    h.clock.advance(16 * 60_000); // past the 15-minute access token, inside the idle timeout
    const get = sessions.get.bind(sessions);
    try {
      // The first request refreshes the tokens.
      assert.equal((await c.call('GET', '/admin/v1/apis')).status, 200);
      // The second request's read of the session was made before that refresh was stored.
      let once = true;
      sessions.get = async (idHash: string, now: number) => {
        if (once && idHash === stale!.idHash) {
          once = false;
          return stale!;
        }
        return get(idHash, now);
      };
      const late = await c.call('GET', '/admin/v1/apps');
      sessions.get = get;
      assert.equal(late.status, 200, JSON.stringify(late.body));
      assert.equal((await c.call('GET', '/bff/session')).status, 200, 'the session goes on');
      assert.equal((await h.admin('GET', `/users/${user.id}/grants`)).body.grants.length, 1, 'the grant stands');
    } finally {
      sessions.get = get;
      h.clock.advance(-16 * 60_000);
    }
  });
});
