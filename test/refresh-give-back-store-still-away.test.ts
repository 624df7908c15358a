import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { StorageUnavailableError, type OidcModelRepo } from '../src/store/port.ts';
import { startHarness, TestClock, type Harness } from './support/harness.ts';
import { startPostgres, type PrivatePostgres } from './support/postgres.ts';
import { Browser, claimsOf, clientPost, codeFlow, REDIRECT, startAuthHarness, TEST_MASTER_KEY, type AuthHarness, refreshWith } from './support/oauth.ts';

/**
 * A refresh that fails after it consumed its token (the store goes away: the successor cannot be
 * stored) gives the token back before it answers 503, so the client's retry is served (RFC 6749 §5.2
 * temporarily_unavailable says retry; RFC 9700 §4.14.2 would otherwise take it for a reuse). When the
 * give-back failed too, the store still away, the token stayed used: the client's retry, once the store
 * was back, was judged a reuse and revoked the grant, so our outage signed the user out. The node now
 * keeps each give-back the store failed and completes it (only the consume it left, by its stamp and
 * unique value) before the token is looked up again, and in the background: the retry is a first use.
 * The token used by that retry is still spent: presenting it again (a thief's copy) is a reuse.
 */
/** The store (as this node sees it) goes away right after the next refresh token consume it applies, until told it is back. */
function goesAwayAfterConsume(h: Harness) {
  const state = { armed: false, away: false };
  const oidc = h.gh.ctx.store.oidc as OidcModelRepo & Record<string, unknown>;
  for (const method of [
    'upsert',
    'find',
    'findVersioned',
    'upsertIfVersion',
    'consume',
    'unconsume',
    'destroy',
    'revokeByGrantId',
    'revokeGrant',
    'listByGrant',
  ]) {
    const original = oidc[method] as (...args: unknown[]) => Promise<unknown>;
    oidc[method] = async (...args: unknown[]) => {
      if (state.away) throw new StorageUnavailableError('the store is away', { cause: new Error('connection reset') });
      const result = await original.apply(oidc, args);
      if (method === 'consume' && args[0] === 'RefreshToken' && result === true && state.armed) {
        state.armed = false;
        state.away = true;
      }
      return result;
    };
  }
  return state;
}

describe('a refresh whose give-back the store failed too', () => {
  let h: AuthHarness;
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };
  let store: ReturnType<typeof goesAwayAfterConsume>;
  before(async () => {
    h = await startAuthHarness();
    const orders = await h.api('orders', ['orders:read']);
    web = await h.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    user = await h.user();
    store = goesAwayAfterConsume(h);
  });
  after(() => h?.close());

  const revokedAudits = async (grantId: string) => (await h.audit('grant.revoked')).filter((e: { targetId: string }) => e.targetId === grantId);

  test("the client's retry once the store is back is refreshed, not judged a reuse; the token it spent is a reuse after", async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read' });
    const grantId = claimsOf(tokens.access_token).gid as string;

    store.armed = true;
    let failed;
    try {
      failed = await refreshWith(h, web, tokens.refresh_token!);
    } finally {
      store.away = false;
    }
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    assert.equal(failed.body.error, 'temporarily_unavailable');

    // The store is back; the client retries, as it was told to.
    const retried = await refreshWith(h, web, tokens.refresh_token!);
    assert.equal(retried.status, 200, `the retry: ${JSON.stringify(retried.body)}`);
    assert.deepEqual(await revokedAudits(grantId), [], 'the grant is not revoked');
    const next = await refreshWith(h, web, retried.body.refresh_token);
    assert.equal(next.status, 200, `the chain goes on: ${JSON.stringify(next.body)}`);

    // The token the retry used, presented again (a stolen copy): a reuse, the grant revoked.
    const stolen = await refreshWith(h, web, tokens.refresh_token!);
    assert.equal(stolen.status, 400, JSON.stringify(stolen.body));
    assert.equal(stolen.body.error, 'invalid_grant');
    // Audited just after the revocation holds (not awaited by the answer).
    for (const until = Date.now() + 5000; (await revokedAudits(grantId)).length === 0 && Date.now() < until;) await delay(50);
    assert.equal((await revokedAudits(grantId)).length, 1);
    assert.equal((await refreshWith(h, web, next.body.refresh_token)).status, 400, 'the chain dies with the grant');
  });

  test('a give-back the store failed is completed in the background once it is back, before anyone presents the token', async () => {
    const tokens = await codeFlow(h, new Browser(h.issuer), web, user.username, { scope: 'openid orders:read' });
    const grantId = claimsOf(tokens.access_token).gid as string;
    store.armed = true;
    try {
      assert.equal((await refreshWith(h, web, tokens.refresh_token!)).status, 503);
    } finally {
      store.away = false;
    }
    await h.gh.authorization!.retryGiveBacks();
    const [stored] = await h.gh.ctx.identity!.oidcRecords.listByGrant('RefreshToken', grantId, Date.now());
    assert.equal(stored?.payload.consumed, undefined, 'given back: unused again');
    assert.equal((await refreshWith(h, web, tokens.refresh_token!)).status, 200);
    assert.deepEqual(await revokedAudits(grantId), []);
  });
});

/**
 * Several nodes on PostgreSQL: the node whose give-back the store failed completes it once the store is
 * back (every second, well inside the 503's Retry-After of 5 s), so the client's retry is a first use at
 * whichever node it reaches after that; and the token that retry spent is a reuse at any node.
 */
describe('a refresh whose give-back the store failed too, the retry at another node (postgres)', () => {
  let pg: PrivatePostgres;
  let a: AuthHarness;
  let b: Harness;
  let web: Awaited<ReturnType<AuthHarness['client']>>;
  let user: { id: string; username: string };
  let store: ReturnType<typeof goesAwayAfterConsume>;
  before(async () => {
    pg = await startPostgres();
    await pg.createDatabase('give_back');
    const env = { GATEHOUSE_STORE_DRIVER: 'postgres', GATEHOUSE_STORE_URL: pg.urlWithoutPassword('give_back'), GATEHOUSE_STORE_PASSWORD: pg.password };
    a = await startAuthHarness(env);
    // B serves the same issuer (A's URL, as a load balancer's would be).
    b = await startHarness({ ...env, GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY, GATEHOUSE_AUTHORIZATION_ISSUER: a.issuer }, TestClock.wall());
    const orders = await a.api('orders', ['orders:read']);
    web = await a.client({ name: 'Web', redirectUris: [REDIRECT], scopes: ['orders:read'], apiIds: [orders.id], firstParty: true });
    user = await a.user();
    store = goesAwayAfterConsume(a);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await pg?.stop();
  });

  test("completed by the node that failed it, the client's retry at another node is refreshed; the token it spent is a reuse there", async () => {
    const refreshAtB = (token: string) =>
      clientPost(web, `${b.gh.controlUrl}${new URL(a.as.token_endpoint!).pathname}`, { grant_type: 'refresh_token', refresh_token: token });
    const tokens = await codeFlow(a, new Browser(a.issuer), web, user.username, { scope: 'openid orders:read' });
    const grantId = claimsOf(tokens.access_token).gid as string;
    store.armed = true;
    try {
      assert.equal((await refreshWith(a, web, tokens.refresh_token!)).status, 503);
    } finally {
      store.away = false;
    }
    // The store is back: A completes the give-back (its background task's round, run now).
    await a.gh.authorization!.retryGiveBacks();
    const retried = await refreshAtB(tokens.refresh_token!);
    assert.equal(retried.status, 200, `the retry at B: ${JSON.stringify(retried.body)}`);
    assert.equal((await refreshWith(a, web, retried.body.refresh_token)).status, 200, 'the chain goes on');
    const stolen = await refreshAtB(tokens.refresh_token!);
    assert.equal(stolen.status, 400, JSON.stringify(stolen.body));
    assert.equal(stolen.body.error, 'invalid_grant');
    // Audited just after the revocation holds (not awaited by the answer).
    const audited = async () => (await a.audit('grant.revoked')).filter((e: { targetId: string }) => e.targetId === grantId).length;
    for (const until = Date.now() + 5000; (await audited()) === 0 && Date.now() < until;) await delay(50);
    assert.equal(await audited(), 1, 'a reuse: the grant revoked');
  });
});
