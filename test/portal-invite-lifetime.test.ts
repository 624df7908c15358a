import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblem } from './support/harness.ts';
import { signUp, startConsoleHarness } from './support/console.ts';
import { PASSWORD, type AuthHarness } from './support/oauth.ts';

/**
 * An invitation is valid portal.inviteTtlHours (72 by default). It is kept with the authorization
 * server's records, whose expiry the store compares in milliseconds and whose expired rows the
 * housekeeping task (every minute) deletes with `deleteExpired(now)`.
 */
describe('a portal invitation lives its whole TTL, through the records housekeeping', () => {
  let h: AuthHarness;
  before(async () => {
    h = await startConsoleHarness();
  });
  after(() => h.close());

  /** What the authorization server's housekeeping does every minute (start-authorization.ts). */
  const housekeeping = () => h.gh.ctx.store.oidc.deleteExpired(h.gh.ctx.clock());

  test('an invitation still works after the housekeeping ran a minute later', async () => {
    const invite = await h.admin('POST', '/portal/invites', { email: 'late@dev.example' });
    assert.equal(invite.status, 201, JSON.stringify(invite.body));
    h.clock.advance(60_000);
    await housekeeping();
    const made = await signUp(h, { username: 'late@dev.example', password: PASSWORD, invite: invite.body.token });
    assert.equal(made.status, 201, `a 72-hour invitation used a minute later: ${JSON.stringify(made.body)}`);
  });

  test('an invitation past its TTL is refused', async () => {
    const invite = await h.admin('POST', '/portal/invites', { email: 'expired@dev.example' });
    h.clock.advance(73 * 3_600_000);
    expectProblem(await signUp(h, { username: 'expired@dev.example', password: PASSWORD, invite: invite.body.token }), 403, 'SIGN_UP_CLOSED');
  });
});
