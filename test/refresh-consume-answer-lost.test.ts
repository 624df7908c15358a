import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StorageUnavailableError, type OidcModelRepo } from '../src/store/port.ts';
import { Browser, claimsOf, codeFlow, REDIRECT, startAuthHarness, type AuthHarness, refreshWith } from './support/oauth.ts';

/**
 * A store call can fail after the store did what it was asked: the connection drops after the UPDATE
 * committed, before its answer arrived. A refresh whose consume failed so was answered 503 "nothing was
 * changed: retry later", but the token was consumed, and, not known to be, it was not given back: the
 * retry was a reuse that revoked the grant (RFC 9700 §4.14.2). A consume that fails is now given back as
 * well (only its own stamp's, so nothing is undone if the store did not keep it).
 */
describe('a refresh whose consume the store kept but failed to confirm', () => {
  let h: AuthHarness;
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };
  let loseNextConsumeAnswer = false;
  before(async () => {
    h = await startAuthHarness();
    const orders = await h.api('orders', ['orders:read']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    user = await h.user();
    const oidc: OidcModelRepo = h.gh.ctx.store.oidc;
    const consume = oidc.consume.bind(oidc);
    oidc.consume = async (model, id, at, by) => {
      const consumed = await consume(model, id, at, by);
      if (model === 'RefreshToken' && loseNextConsumeAnswer) {
        loseNextConsumeAnswer = false;
        throw new StorageUnavailableError('the store is away', { cause: new Error('connection reset after the commit') });
      }
      return consumed;
    };
  });
  after(() => h?.close());

  const refresh = (token: string) => refreshWith(h, web, token);

  test('is answered 503, and the retry is refreshed: the grant stands', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read' });
    const grantId = claimsOf(tokens.access_token).gid as string;
    loseNextConsumeAnswer = true;
    const failed = await refresh(tokens.refresh_token!);
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    const retried = await refresh(tokens.refresh_token!);
    assert.equal(retried.status, 200, `the retry: ${JSON.stringify(retried.body)}`);
    assert.deepEqual(
      (await h.audit('grant.revoked')).filter((e: { targetId: string }) => e.targetId === grantId),
      [],
      'the grant is not revoked',
    );
    assert.equal((await refresh(retried.body.refresh_token)).status, 200, 'the chain goes on');
    assert.equal((await refresh(tokens.refresh_token!)).status, 400, 'and the rotated token is used');
  });
});
