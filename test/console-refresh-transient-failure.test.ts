import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signInConsole, startConsoleHarness } from './support/console.ts';
import type { AuthHarness } from './support/oauth.ts';

/**
 * docs/console.md: "a refused refresh (grant revoked or expired) ends the session". A refresh that could
 * not be made at all (the token endpoint unreachable for a moment, a proxy's 502, a 500) refused
 * nothing: the session must survive it, or one blip signs out everyone whose access token expired.
 */
describe('a session survives a refresh that failed for a reason other than a refusal', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startConsoleHarness();
  });
  after(() => h.close());

  test('the token endpoint unreachable once: the request fails, the session does not end, and the next request refreshes', async () => {
    const user = await h.user({ consoleRole: 'operator' });
    const c = await signInConsole(h, user.username, { secondFactor: true });
    const tokenEndpoint = h.as.token_endpoint!;
    const realFetch = globalThis.fetch;
    let down = true;
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = input instanceof Request ? input.url : String(input);
      if (down && url === tokenEndpoint) throw new TypeError('fetch failed');
      return realFetch(input, init);
    }) as typeof fetch;
    h.clock.advance(16 * 60_000); // past the 15-minute access token, inside the idle timeout
    try {
      const during = await c.call('GET', '/admin/v1/apis');
      assert.notEqual(during.status, 200, 'no refresh was possible');
      down = false;
      assert.equal((await c.call('GET', '/admin/v1/apis')).status, 200, 'the session is still there once the token endpoint answers again');
      assert.equal((await c.call('GET', '/bff/session')).status, 200);
    } finally {
      globalThis.fetch = realFetch;
      h.clock.advance(-16 * 60_000);
    }
  });

  test('a refused refresh (the grant revoked) still ends the session', async () => {
    const user = await h.user({ consoleRole: 'operator' });
    const c = await signInConsole(h, user.username, { secondFactor: true });
    const [grant] = (await h.admin('GET', `/users/${user.id}/grants`)).body.grants;
    assert.equal((await h.admin('DELETE', `/grants/${grant.id}`)).status, 204);
    h.clock.advance(16 * 60_000);
    try {
      assert.equal((await c.call('GET', '/admin/v1/apis')).status, 401);
      assert.equal((await c.call('GET', '/bff/session')).status, 401);
    } finally {
      h.clock.advance(-16 * 60_000);
    }
  });
});
