import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { errors } from 'oidc-provider';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.ts';
import type { ClientDirectory } from './client-directory.ts';
import { createOidcAdapterFactory, GrantChangedError, noteConsumes, PendingGiveBacks, retryGiveBacks, saveGrant } from './oidc-adapter.ts';
import { createOidcRecords } from './oidc-records.ts';

const MASTER = Buffer.from('master-key-for-oidc-adapter-0123456789abcdef');
const NOW = Date.UTC(2026, 0, 1);

async function setup(refreshReuseGraceMs = 0) {
  const store = openSqliteStore(':memory:');
  await store.migrate();
  const revoked: string[] = [];
  const audited: string[] = [];
  const records = createOidcRecords(store.oidc, MASTER);
  const adapterFor = createOidcAdapterFactory({
    records,
    clients: {} as ClientDirectory, // only the Client model reads it
    clock: () => NOW,
    revocationTtlMs: () => 3_600_000,
    onGrantRevoked: (grantId) => revoked.push(grantId),
    refreshReuseGraceMs,
    onReuseRevoked: (grantId) => audited.push(grantId),
  });
  // One of oidc-provider's requests, as authorization-server.ts runs it.
  const inRequest = noteConsumes({ records, clock: () => NOW, refreshReuseGraceMs }, (error) => assert.fail(String(error)));
  return { store, adapterFor, revoked, audited, inRequest };
}

for (const model of ['RefreshToken', 'AuthorizationCode']) {
  test(`a code or refresh token (${model}) another request consumed after oidc-provider found it unused is a reuse: the late use is refused and the grant revoked`, async () => {
    const { store, adapterFor, revoked, audited } = await setup();
    const adapter = adapterFor(model);
    const refresh = adapterFor('RefreshToken');
    const grant = { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' };
    await adapterFor('Grant').upsert('grant-1', grant, 3600);
    await adapter.upsert('used-1', { jti: 'used-1', kind: model, grantId: 'grant-1', accountId: 'usr_1' }, 3600);
    // What the first of the two requests issued with it.
    await refresh.upsert('issued-1', { jti: 'issued-1', kind: 'RefreshToken', grantId: 'grant-1', accountId: 'usr_1' }, 3600);

    // Both requests read it unused (oidc-provider's check); the first consumes it, then the second tries.
    await adapter.consume('used-1');
    await assert.rejects(adapter.consume('used-1'), (error) => error instanceof errors.InvalidGrant);

    assert.equal(await refresh.find('issued-1'), undefined, "the first use's tokens are revoked with the grant");
    assert.equal(await adapterFor('Grant').find('grant-1'), undefined);
    assert.deepEqual(
      (await store.revocations.since(0, NOW)).map((r) => r.id),
      ['grant-1'],
      'listed, so JWT access tokens of the grant are refused',
    );
    assert.deepEqual(revoked, ['grant-1']);
    assert.deepEqual(audited, ['grant-1']);
  });
}

test('a grant is saved only over the version it was read at: of two concurrent widenings the late one reads it again, and neither is lost', async () => {
  const { adapterFor } = await setup();
  const grants = adapterFor('Grant');
  await grants.upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1', openid: { scope: 'openid' } }, 3600);
  const first = await grants.find('grant-1');
  const second = await grants.find('grant-1');
  await grants.upsert('grant-1', { ...first!, openid: { scope: 'openid email' } }, 3600);
  await assert.rejects(grants.upsert('grant-1', { ...second!, openid: { scope: 'openid profile' } }, 3600), GrantChangedError);
  await assert.rejects(
    grants.upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_2' }, 3600),
    GrantChangedError,
    'a new grant never replaces one',
  );
  // saveGrant: a change whose grant another request saved after it was read is read again and redone.
  let reads = 0;
  const widen = (scope: string) => async () => {
    reads++;
    const payload = (await grants.find('grant-1'))!;
    const widened = { ...payload, openid: { scope: `${(payload.openid as { scope: string }).scope} ${scope}` } };
    // The other request saves between this one's read and its save, once.
    if (reads === 1) await grants.upsert('grant-1', { ...payload, openid: { scope: `${(payload.openid as { scope: string }).scope} roles` } }, 3600);
    return { save: () => grants.upsert('grant-1', widened, 3600) };
  };
  assert.ok(await saveGrant(widen('profile')));
  assert.equal(reads, 2, 'read again once');
  assert.deepEqual((await grants.find('grant-1'))?.openid, { scope: 'openid email roles profile' });
});

test('records used more than once (a session) are consumed without a reuse check', async () => {
  const { adapterFor, revoked } = await setup();
  const sessions = adapterFor('Session');
  await sessions.upsert('session-1', { jti: 'session-1', kind: 'Session', uid: 'u1', accountId: 'usr_1' }, 3600);
  await sessions.consume('session-1');
  await sessions.consume('session-1');
  assert.deepEqual(revoked, []);
});

test('with a reuse grace, a refresh token consumed by a concurrent request before it stored a successor continues from that successor once stored: a retry, not a reuse', async () => {
  const { adapterFor, revoked } = await setup(10_000);
  const refresh = adapterFor('RefreshToken');
  const token = (id: string, rotations: number) => ({
    jti: id,
    kind: 'RefreshToken',
    grantId: 'grant-1',
    accountId: 'usr_1',
    iiat: 1,
    rotations,
    gatehouseChain: 'chain-1',
  });
  await adapterFor('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
  await refresh.upsert('used-1', token('used-1', 0), 3600);
  // Both requests found it unused (oidc-provider's check); the first consumes it and stores its successor
  // a moment after the second one consumes: the second waits for it and continues the one chain from it.
  await refresh.consume('used-1');
  const second = refresh.consume('used-1');
  await new Promise((resolve) => setTimeout(resolve, 50));
  await refresh.upsert('first-1', token('first-1', 1), 3600);
  await second;
  assert.deepEqual(revoked, []);
  assert.equal(typeof (await refresh.find('first-1'))?.consumed, 'number', 'the successor is spent by the retry');
});

test('with a reuse grace, of three uses at once the retry that lost the successor to the other retry continues from the one that retry stores: no reuse, one live successor', async () => {
  const { adapterFor, revoked } = await setup(10_000);
  const refresh = adapterFor('RefreshToken');
  const token = (id: string, rotations: number) => ({
    jti: id,
    kind: 'RefreshToken',
    grantId: 'grant-1',
    accountId: 'usr_1',
    iiat: 1,
    rotations,
    gatehouseChain: 'chain-1',
  });
  await adapterFor('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
  await refresh.upsert('used-1', token('used-1', 0), 3600);
  // All three found it unused; the first consumes it and stores its successor, the other two race for that.
  await refresh.consume('used-1');
  await refresh.upsert('first-1', token('first-1', 1), 3600);
  const retries = Promise.all([refresh.consume('used-1'), refresh.consume('used-1')]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  // The winner stores its own successor (a sibling: it started from the token, not from the successor).
  await refresh.upsert('second-1', token('second-1', 1), 3600);
  await retries;
  assert.deepEqual(revoked, []);
  for (const id of ['first-1', 'second-1']) assert.equal(typeof (await refresh.find(id))?.consumed, 'number', `${id} is spent by a retry`);
});

test('with a reuse grace, a retry after the chain moved on (its successor used by its holder) is a reuse, however live the token after it', async () => {
  const { adapterFor, revoked } = await setup(10_000);
  const refresh = adapterFor('RefreshToken');
  const token = (id: string, rotations: number) => ({
    jti: id,
    kind: 'RefreshToken',
    grantId: 'grant-1',
    accountId: 'usr_1',
    iiat: 1,
    rotations,
    gatehouseChain: 'chain-1',
  });
  await adapterFor('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
  await refresh.upsert('used-0', token('used-0', 0), 3600);
  await refresh.consume('used-0');
  await refresh.upsert('first-1', token('first-1', 1), 3600);
  await refresh.consume('first-1');
  await refresh.upsert('next-2', token('next-2', 2), 3600);
  assert.equal(typeof (await refresh.find('used-0'))?.consumed, 'number', 'found used, not as the live token');
  await assert.rejects(refresh.consume('used-0'), (error) => error instanceof errors.InvalidGrant);
  assert.deepEqual(revoked, ['grant-1']);
});

test('with a reuse grace, a refresh token consumed by a concurrent request that never stores a successor is a reuse: refused, not a second chain', async () => {
  const { adapterFor, revoked } = await setup(10_000);
  const refresh = adapterFor('RefreshToken');
  await adapterFor('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
  await refresh.upsert('used-1', { jti: 'used-1', kind: 'RefreshToken', grantId: 'grant-1', accountId: 'usr_1', iiat: 1, rotations: 0 }, 3600);
  // The first use failed after consuming it: there is no chain to continue, so the second is a reuse.
  await refresh.consume('used-1');
  await assert.rejects(refresh.consume('used-1'), (error) => error instanceof errors.InvalidGrant);
  assert.deepEqual(revoked, ['grant-1']);
});

test('with a reuse grace, the successor a retry spent has no window of its own: its holder presenting it is a reuse, not a retry that passes the chain back', async () => {
  const { adapterFor, revoked } = await setup(10_000);
  const refresh = adapterFor('RefreshToken');
  const token = (id: string, rotations: number) => ({
    jti: id,
    kind: 'RefreshToken',
    grantId: 'grant-1',
    accountId: 'usr_1',
    iiat: 1,
    rotations,
    gatehouseChain: 'chain-1',
  });
  await adapterFor('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
  // A uses the token and is given its successor; B, holding the same token, presents it inside the window.
  await refresh.upsert('used-0', token('used-0', 0), 3600);
  await refresh.consume('used-0');
  await refresh.upsert('first-1', token('first-1', 1), 3600);
  assert.equal((await refresh.find('used-0'))?.rotations, 1, 'the retry is found as the successor');
  await refresh.consume('used-0');
  await refresh.upsert('retried-2', token('retried-2', 2), 3600);
  // A presents the successor the retry spent: found used, as oidc-provider refuses (and revokes) a used token.
  assert.equal(typeof (await refresh.find('first-1'))?.consumed, 'number', 'found as a used token, not as the retry’s successor');
  await assert.rejects(refresh.consume('first-1'), (error) => error instanceof errors.InvalidGrant);
  assert.deepEqual(revoked, ['grant-1']);
});

test('with a reuse grace, a retry that spent the successor and then failed to store its own gives the successor back: the next retry continues from it', async () => {
  const { store, adapterFor, revoked, inRequest } = await setup(10_000);
  const refresh = adapterFor('RefreshToken');
  const token = (id: string, rotations: number) => ({
    jti: id,
    kind: 'RefreshToken',
    grantId: 'grant-1',
    accountId: 'usr_1',
    iiat: 1,
    rotations,
    gatehouseChain: 'chain-1',
  });
  await adapterFor('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
  await refresh.upsert('used-0', token('used-0', 0), 3600);
  await refresh.consume('used-0');
  await refresh.upsert('first-1', token('first-1', 1), 3600);
  // One request, as oidc-provider makes it: the retry spends the successor, then the store fails on its own.
  const upsert = store.oidc.upsert.bind(store.oidc);
  store.oidc.upsert = async () => {
    throw new Error('the store is away');
  };
  await assert.rejects(
    inRequest(null, async () => {
      await refresh.consume('used-0');
      await refresh.upsert('retried-2', token('retried-2', 2), 3600);
    }),
    /the store is away/,
  );
  store.oidc.upsert = upsert;
  assert.equal((await refresh.find('first-1'))?.consumed, undefined, 'given back');
  await refresh.consume('used-0');
  assert.deepEqual(revoked, []);
});

test('a pushed authorization request consumed by a concurrent authorization is refused to the late one: a request_uri is used once', async () => {
  const { adapterFor } = await setup();
  const par = adapterFor('PushedAuthorizationRequest');
  await par.upsert('par-1', { jti: 'par-1', kind: 'PushedAuthorizationRequest', clientId: 'client-1', request: 'eyJ...' }, 60);
  // Both authorizations found it unused (oidc-provider's respond); the first consumes it first.
  await par.consume('par-1');
  await assert.rejects(par.consume('par-1'), (error) => error instanceof errors.InvalidRequestUri);
});

test('with a reuse grace, two chains of one grant begun in the same second are told apart: a retry in one is not judged by the other’s rotations', async () => {
  const { adapterFor, revoked } = await setup(10_000);
  const refresh = adapterFor('RefreshToken');
  // Two sign-ins of one user and client in one session, within one second: one grant, two chains, one iiat.
  const token = (id: string, chain: string, rotations: number) => ({
    jti: id,
    kind: 'RefreshToken',
    grantId: 'grant-1',
    accountId: 'usr_1',
    iiat: 1,
    rotations,
    gatehouseChain: chain,
  });
  await adapterFor('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
  await refresh.upsert('a-0', token('a-0', 'chain-a', 0), 3600);
  await refresh.upsert('b-0', token('b-0', 'chain-b', 0), 3600);
  // A refreshes once (its answer is lost); B, on another device, refreshes twice, using its successor.
  await refresh.consume('a-0');
  await refresh.upsert('a-1', token('a-1', 'chain-a', 1), 3600);
  await refresh.consume('b-0');
  await refresh.upsert('b-1', token('b-1', 'chain-b', 1), 3600);
  await refresh.consume('b-1');
  await refresh.upsert('b-2', token('b-2', 'chain-b', 2), 3600);
  // A retries: its own chain has not moved on, so it is continued from a-1; B's chain is untouched.
  const found = await refresh.find('a-0');
  assert.equal(found?.consumed, undefined, 'found as the successor of its own chain, not as a reuse');
  assert.equal(found?.gatehouseChain, 'chain-a');
  await refresh.consume('a-0');
  assert.deepEqual(revoked, []);
  assert.equal(typeof (await refresh.find('a-1'))?.consumed, 'number', 'a-1 is spent by the retry');
  assert.equal((await refresh.find('b-2'))?.consumed, undefined, 'B’s live token is not');
});

test('a refresh token stored in a request carries the chain of the refresh token that request consumed; one issued for a code starts a new chain', async () => {
  const { store, adapterFor, inRequest } = await setup(10_000);
  const records = createOidcRecords(store.oidc, MASTER);
  const refresh = adapterFor('RefreshToken');
  const code = adapterFor('AuthorizationCode');
  const token = (id: string, rotations: number) => ({ jti: id, kind: 'RefreshToken', grantId: 'grant-1', accountId: 'usr_1', iiat: 1, rotations });
  await code.upsert('code-1', { jti: 'code-1', kind: 'AuthorizationCode', grantId: 'grant-1', accountId: 'usr_1' }, 60);
  await code.upsert('code-2', { jti: 'code-2', kind: 'AuthorizationCode', grantId: 'grant-1', accountId: 'usr_1' }, 60);
  // As oidc-provider does it: find, consume, store the successor (which names no chain), in one request.
  const exchange = (c: string, id: string) =>
    inRequest(null, async () => {
      await code.find(c);
      await code.consume(c);
      await refresh.upsert(id, token(id, 0), 3600);
    });
  const rotate = (used: string, id: string, rotations: number) =>
    inRequest(null, async () => {
      await refresh.find(used);
      await refresh.consume(used);
      await refresh.upsert(id, token(id, rotations), 3600);
    });
  await exchange('code-1', 'a-0');
  await exchange('code-2', 'b-0');
  await rotate('a-0', 'a-1', 1);
  const chainOf = async (id: string) => (await records.find('RefreshToken', id, NOW))?.gatehouseChain;
  assert.equal(typeof (await chainOf('a-0')), 'string');
  assert.notEqual(await chainOf('a-0'), await chainOf('b-0'), 'two chains, two ids');
  assert.equal(await chainOf('a-1'), await chainOf('a-0'), 'the successor carries its chain');
});

test('with a reuse grace, refresh tokens stored before chains had an id are still continued by their iiat', async () => {
  const { store, adapterFor, revoked, inRequest } = await setup(10_000);
  const records = createOidcRecords(store.oidc, MASTER);
  const refresh = adapterFor('RefreshToken');
  const token = (id: string, rotations: number) => ({ jti: id, kind: 'RefreshToken', grantId: 'grant-1', accountId: 'usr_1', iiat: 1, rotations });
  await adapterFor('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
  // Stored by the release before: no chain id.
  await records.upsert('RefreshToken', 'old-0', token('old-0', 0), NOW + 3_600_000);
  await records.consume('RefreshToken', 'old-0', NOW);
  await records.upsert('RefreshToken', 'old-1', token('old-1', 1), NOW + 3_600_000);
  assert.equal((await refresh.find('old-0'))?.rotations, 1, 'the retry is found as the successor');
  await inRequest(null, async () => {
    await refresh.consume('old-0');
    await refresh.upsert('new-2', token('new-2', 2), 3600);
  });
  assert.deepEqual(revoked, []);
  assert.equal(typeof (await refresh.find('old-1'))?.consumed, 'number', 'old-1 is spent by the retry');
  assert.equal((await refresh.find('new-2'))?.consumed, undefined);
});

test('a request answered 5xx after it consumed a refresh token gives it back and withdraws the successor it stored; one answered 2xx or 4xx keeps both', async () => {
  const { store, adapterFor, inRequest } = await setup(10_000);
  const records = createOidcRecords(store.oidc, MASTER);
  const refresh = adapterFor('RefreshToken');
  const token = (id: string, rotations: number) => ({ jti: id, kind: 'RefreshToken', grantId: 'grant-1', accountId: 'usr_1', iiat: 1, rotations });
  await adapterFor('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
  const rotate = (status: number, used: string, id: string) => {
    const kctx = { status: 404, headerSent: false };
    return inRequest(kctx, async () => {
      await refresh.find(used);
      await refresh.consume(used);
      await refresh.upsert(id, token(id, 1), 3600);
      kctx.status = status; // what oidc-provider answered, a failure after the successor was stored included
    });
  };
  await refresh.upsert('t-0', token('t-0', 0), 3600);
  for (const status of [500, 503]) {
    await rotate(status, 't-0', `failed-${status}`);
    assert.equal((await records.find('RefreshToken', 't-0', NOW))?.consumed, undefined, `${status}: given back`);
    assert.equal(await records.find('RefreshToken', `failed-${status}`, NOW), null, `${status}: the successor never sent is withdrawn`);
  }
  await rotate(400, 't-0', 'refused');
  assert.equal(typeof (await records.find('RefreshToken', 't-0', NOW))?.consumed, 'number', '4xx: a refusal is final');
  await refresh.upsert('u-0', token('u-0', 0), 3600);
  await rotate(200, 'u-0', 'answered');
  assert.equal(typeof (await records.find('RefreshToken', 'u-0', NOW))?.consumed, 'number', '2xx: never given back');
  assert.equal((await records.find('RefreshToken', 'answered', NOW))?.consumed, undefined);
});

test('with a reuse grace, a failed request whose successor a concurrent retry already continued from gives nothing back: the chain moved on through that retry', async () => {
  const { adapterFor, revoked, inRequest } = await setup(10_000);
  const refresh = adapterFor('RefreshToken');
  const token = (id: string, rotations: number) => ({ jti: id, kind: 'RefreshToken', grantId: 'grant-1', accountId: 'usr_1', iiat: 1, rotations });
  await adapterFor('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
  await refresh.upsert('t-0', token('t-0', 0), 3600);
  const kctx = { status: 404, headerSent: false };
  await inRequest(kctx, async () => {
    await refresh.find('t-0');
    await refresh.consume('t-0');
    await refresh.upsert('first-1', token('first-1', 1), 3600);
    // A concurrent retry inside the window continues from first-1 and is answered, before this one fails.
    await inRequest({ status: 200, headerSent: false }, async () => {
      await refresh.consume('t-0');
      await refresh.upsert('retry-1', token('retry-1', 1), 3600);
    });
    kctx.status = 503;
  });
  assert.equal(typeof (await refresh.find('first-1'))?.consumed, 'number', 'spent by the retry, not withdrawn');
  assert.equal((await refresh.find('retry-1'))?.consumed, undefined, 'the retry’s successor is the one live token');
  // t-0 stays used: presented again inside the window, it goes on from the retry's successor.
  assert.equal((await refresh.find('t-0'))?.rotations, 1);
  await refresh.consume('t-0');
  assert.equal(typeof (await refresh.find('retry-1'))?.consumed, 'number');
  assert.deepEqual(revoked, []);
});

for (const via of ['find', 'consume']) {
  test(`with a reuse grace, a use concurrent with a first use that fails and gives the token back goes on from the token (${via}): not a reuse`, async () => {
    const { store, adapterFor, revoked, inRequest } = await setup(10_000);
    const refresh = adapterFor('RefreshToken');
    const token = (id: string, rotations: number) => ({ jti: id, kind: 'RefreshToken', grantId: 'grant-1', accountId: 'usr_1', iiat: 1, rotations });
    await adapterFor('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
    await refresh.upsert('t-0', token('t-0', 0), 3600);
    // The second use found it unused before the first consumed it (consume), or finds it consumed (find).
    const second = async () => {
      const found = await refresh.find('t-0');
      assert.equal(found?.consumed, undefined, 'found unused: given back');
      await refresh.consume('t-0');
    };
    const upsert = store.oidc.upsert.bind(store.oidc);
    let seconds: Promise<void> | undefined;
    await assert.rejects(
      inRequest(null, async () => {
        if (via === 'consume') {
          // Found unused by both, consumed by the first: the second's consume waits for a successor.
          const found = await refresh.find('t-0');
          assert.equal(found?.consumed, undefined);
          await refresh.consume('t-0');
          seconds = inRequest(null, () => refresh.consume('t-0'));
        } else {
          await refresh.consume('t-0');
          seconds = inRequest(null, second);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
        store.oidc.upsert = async () => {
          throw new Error('the store is away');
        };
        try {
          await refresh.upsert('first-1', token('first-1', 1), 3600);
        } finally {
          store.oidc.upsert = upsert;
        }
      }),
      /the store is away/,
    );
    await seconds;
    assert.deepEqual(revoked, []);
    assert.equal(typeof (await refresh.find('t-0'))?.consumed, 'number', 'consumed by the second use');
  });
}

test('a refresh token the store kept though its write failed (the answer lost) is withdrawn with the failed request, and what it was issued for given back', async () => {
  const { store, adapterFor, inRequest } = await setup(10_000);
  const records = createOidcRecords(store.oidc, MASTER);
  const refresh = adapterFor('RefreshToken');
  const token = (id: string, rotations: number) => ({ jti: id, kind: 'RefreshToken', grantId: 'grant-1', accountId: 'usr_1', iiat: 1, rotations });
  await refresh.upsert('t-0', token('t-0', 0), 3600);
  const upsert = store.oidc.upsert.bind(store.oidc);
  await assert.rejects(
    inRequest(null, async () => {
      await refresh.find('t-0');
      await refresh.consume('t-0');
      store.oidc.upsert = async (...args) => {
        await upsert(...args);
        throw new Error('connection reset after the commit');
      };
      try {
        await refresh.upsert('lost-1', token('lost-1', 1), 3600);
      } finally {
        store.oidc.upsert = upsert;
      }
    }),
    /connection reset/,
  );
  assert.equal((await records.find('RefreshToken', 't-0', NOW))?.consumed, undefined, 'given back');
  assert.equal(await records.find('RefreshToken', 'lost-1', NOW), null, 'never sent: withdrawn, not left live beside the retry’s successor');
});

for (const model of ['RefreshToken', 'AuthorizationCode']) {
  test(`a reuse (${model}) whose grant revocation the store fails part-way deletes nothing: presented again once the store is back, the grant is revoked`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-reuse-'));
    const store = openSqliteStore(join(dir, 'store.db'));
    try {
      await store.migrate();
      const records = createOidcRecords(store.oidc, MASTER);
      const adapterFor = createOidcAdapterFactory({
        records,
        clients: {} as ClientDirectory,
        clock: () => NOW,
        revocationTtlMs: () => 3_600_000,
        onGrantRevoked: () => undefined,
        refreshReuseGraceMs: 0,
        onReuseRevoked: () => undefined,
      });
      const adapter = adapterFor(model);
      const refresh = adapterFor('RefreshToken');
      await adapterFor('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
      await adapter.upsert('used-1', { jti: 'used-1', kind: model, grantId: 'grant-1', accountId: 'usr_1' }, 3600);
      await refresh.upsert('issued-1', { jti: 'issued-1', kind: 'RefreshToken', grantId: 'grant-1', accountId: 'usr_1' }, 3600);
      await adapter.consume('used-1');

      // A real failure in the store: listing the grant as revoked is refused, after the deletes may have run.
      const other = new DatabaseSync(join(dir, 'store.db'));
      other.exec(`CREATE TRIGGER refuse_listing BEFORE INSERT ON revocations BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
      await assert.rejects(adapter.consume('used-1'), (error) => !(error instanceof errors.InvalidGrant));
      other.exec('DROP TRIGGER refuse_listing');
      other.close();
      assert.notEqual(await adapter.find('used-1'), undefined, 'the used token stays, to show the reuse again');

      await assert.rejects(adapter.consume('used-1'), (error) => error instanceof errors.InvalidGrant);
      assert.equal(await refresh.find('issued-1'), undefined, "the first use's tokens are revoked with the grant");
      assert.equal(await adapterFor('Grant').find('grant-1'), undefined);
      assert.deepEqual(
        (await store.revocations.since(0, NOW)).map((r) => r.id),
        ['grant-1'],
      );
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

for (const refreshReuseGraceMs of [0, 10_000]) {
  test(`a consume the store never applied gives back nothing of another request's consume stamped the same millisecond (grace ${refreshReuseGraceMs} ms)`, async () => {
    // The setup's clock stands still: every consume below is stamped the same millisecond, as two uses of
    // one token at once (a client's retry racing its first try) may be on the wall clock.
    const { store, adapterFor, revoked, inRequest } = await setup(refreshReuseGraceMs);
    const refresh = adapterFor('RefreshToken');
    const token = (id: string, rotations: number) => ({ jti: id, kind: 'RefreshToken', grantId: 'grant-1', accountId: 'usr_1', iiat: 1, rotations });
    await adapterFor('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
    await refresh.upsert('t-0', token('t-0', 0), 3600);
    // A's consume fails before the store applies it (the connection drops on the way); meanwhile B, the
    // same token presented at the same moment, consumes it, stores its successor and is answered.
    const consume = store.oidc.consume.bind(store.oidc);
    store.oidc.consume = async () => {
      store.oidc.consume = consume;
      await inRequest({ status: 200, headerSent: false }, async () => {
        await refresh.find('t-0');
        await refresh.consume('t-0');
        await refresh.upsert('b-1', token('b-1', 1), 3600);
      });
      throw new Error('connection reset before the update reached the store');
    };
    await assert.rejects(
      inRequest(null, async () => {
        await refresh.find('t-0');
        await refresh.consume('t-0');
      }),
      /connection reset/,
    );
    // A gives back its own consume only, which the store never had: B's stands, t-0 stays used.
    const stored = await createOidcRecords(store.oidc, MASTER).find('RefreshToken', 't-0', NOW);
    assert.equal(typeof stored?.consumed, 'number', 'B’s consume is not given back by A');
    if (refreshReuseGraceMs === 0) {
      // Presented again, t-0 is a reuse (RFC 9700 §4.14.2), not a first use that starts a second chain beside B's.
      await assert.rejects(refresh.consume('t-0'), (error) => error instanceof errors.InvalidGrant);
      assert.deepEqual(revoked, ['grant-1']);
    } else {
      // Presented again inside the window, it is a retry of B's use: it continues B's one chain from b-1.
      await refresh.consume('t-0');
      assert.equal(typeof (await refresh.find('b-1'))?.consumed, 'number', 'b-1 is spent by the retry');
      assert.deepEqual(revoked, []);
    }
  });
}

for (const refreshReuseGraceMs of [0, 10_000]) {
  test(`a give-back the store failed is completed later only over the consume its request left: a use made since on another node stays used, and the token's next presentation is a reuse (grace ${refreshReuseGraceMs} ms)`, async () => {
    const store = openSqliteStore(':memory:');
    await store.migrate();
    const records = createOidcRecords(store.oidc, MASTER);
    const audited: string[] = [];
    // Two nodes on one store: each its own adapter and its own pending give-backs.
    const node = () => {
      const options = {
        records,
        clients: {} as ClientDirectory,
        clock: () => NOW,
        revocationTtlMs: () => 3_600_000,
        onGrantRevoked: () => undefined,
        refreshReuseGraceMs,
        onReuseRevoked: (grantId: string) => audited.push(grantId),
        pendingGiveBacks: new PendingGiveBacks(),
      };
      const errors: unknown[] = [];
      return { options, refresh: createOidcAdapterFactory(options)('RefreshToken'), inRequest: noteConsumes(options, (error) => errors.push(error)), errors };
    };
    const [a, b] = [node(), node()];
    const token = (id: string, rotations: number) => ({ jti: id, kind: 'RefreshToken', grantId: 'grant-1', accountId: 'usr_1', iiat: 1, rotations });
    await createOidcAdapterFactory(a.options)('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'usr_1', clientId: 'client-1' }, 3600);
    await a.refresh.upsert('t-0', token('t-0', 0), 3600);

    // At node A the store goes away during the consume (never applied) and stays away for the give-back.
    const { consume, unconsume } = store.oidc;
    const away = async () => {
      throw new Error('connection reset');
    };
    store.oidc.consume = away;
    store.oidc.unconsume = away;
    await assert.rejects(
      a.inRequest(null, async () => {
        await a.refresh.find('t-0');
        await a.refresh.consume('t-0');
      }),
      /given back once the store is/,
    );
    store.oidc.consume = consume;
    store.oidc.unconsume = unconsume;
    assert.equal(a.options.pendingGiveBacks.size, 1, 'kept to be completed');

    // The client's retry reaches node B, which knows nothing of it: the token is unused there, and it is refreshed.
    const kctx = { status: 404, headerSent: false };
    await b.inRequest(kctx, async () => {
      await b.refresh.find('t-0');
      await b.refresh.consume('t-0');
      await b.refresh.upsert('t-1', token('t-1', 1), 3600);
      kctx.status = 200;
    });
    const used = (await records.find('RefreshToken', 't-0', NOW))?.consumed;
    assert.equal(typeof used, 'number');

    // Node A completes its give-back: the consume it made never reached the store, B's (same millisecond) is not its own.
    await retryGiveBacks(a.options);
    assert.equal(a.options.pendingGiveBacks.size, 0);
    assert.equal((await records.find('RefreshToken', 't-0', NOW))?.consumed, used, "B's use stays");

    // A stolen copy presented at node A, beyond any grace (B's successor was used): a reuse, the grant revoked.
    await b.inRequest({ status: 404, headerSent: false }, async () => {
      await b.refresh.find('t-1');
      await b.refresh.consume('t-1');
    });
    await assert.rejects(
      a.refresh.find('t-0').then(() => a.refresh.consume('t-0')),
      (error) => error instanceof errors.InvalidGrant,
    );
    assert.deepEqual(audited, ['grant-1']);
    assert.deepEqual([...a.errors, ...b.errors], []);
  });
}
