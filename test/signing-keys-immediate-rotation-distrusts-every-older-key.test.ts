import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { call, expectProblem } from './support/harness.ts';
import { headerOf, insecure, startAuthHarness, type AuthHarness } from './support/oauth.ts';

/**
 * `signing-keys rotate --now` is the runbook's answer to a leaked signing key (docs/incident-response.md),
 * and a leaked signing key means the master key or the process's memory is out: every key sealed in
 * the store is as known as the one that signs. A key published for a scheduled rotation but not signing
 * yet, or retired but still published for its tokens, must stop verifying at once too, and a pending key
 * must never take over signing from the key made for the incident.
 */
describe('an immediate signing-key rotation distrusts every key made before it', () => {
  let h: AuthHarness;
  let orders: { id: string; audience: string };
  let machine: Awaited<ReturnType<AuthHarness['client']>>;
  const HOUR = 3_600_000;

  before(async () => {
    h = await startAuthHarness({ GATEHOUSE_AUTH_FAILURES_LIMIT: '1000' });
    orders = await h.api('orders', ['orders:read'], { auth: { type: 'bearer' } });
    machine = await h.client({ name: 'Sync', grantTypes: ['client_credentials'], scopes: ['orders:read'], apiIds: [orders.id] });
  });
  after(() => h.close());

  const published = async () => ((await (await fetch(h.as.jwks_uri!)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  const kidOfNewToken = async () =>
    headerOf(
      (
        await oauth.processClientCredentialsResponse(
          h.as,
          machine.client,
          await oauth.clientCredentialsGrantRequest(h.as, machine.client, machine.auth, {}, insecure),
        )
      ).access_token,
    ).kid;
  /** A token an attacker holding the key's private half could make: valid in every claim. */
  const forgedWith = async (kid: string) => {
    const stored = (await h.gh.ctx.store.signingKeys.get(kid))!;
    const jwk = JSON.parse(h.gh.ctx.identity!.signingKeyBox.open(stored.sealedPrivateJwk, kid)) as JWK;
    const now = Math.floor(h.clock.read() / 1000);
    return new SignJWT({ iss: h.issuer, sub: 'usr_forged', aud: orders.audience, client_id: machine.id, scope: 'orders:read', jti: `j${Math.random()}` })
      .setProtectedHeader({ alg: stored.alg, typ: 'at+jwt', kid })
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(await importJWK(jwk, stored.alg));
  };

  test('a key published ahead of a scheduled rotation: unpublished, refused at the gateway, and it never signs', async () => {
    const pending = await h.admin('POST', '/signing-keys/rotate', {});
    assert.equal(pending.body.state, 'next');
    assert.equal((await call(h, '/orders/x', { key: await forgedWith(pending.body.id) })).status, 200, 'published, so it verifies before the incident');

    const incident = await h.admin('POST', '/signing-keys/rotate', { immediate: true });
    assert.equal(incident.status, 201);
    assert.ok(!(await published()).includes(pending.body.id), 'the pending key is no longer published');
    expectProblem(await call(h, '/orders/x', { key: await forgedWith(pending.body.id) }), 401, 'TOKEN_INVALID');

    h.clock.advance(HOUR + 1000);
    await h.gh.authorization!.server.reload();
    assert.equal(await kidOfNewToken(), incident.body.id, 'the key made for the incident still signs after the pending key’s activation time');
  });

  test('a retired key still published for its tokens: unpublished and refused at the gateway', async () => {
    const scheduled = await h.admin('POST', '/signing-keys/rotate', {});
    h.clock.advance(HOUR + 1000);
    await h.gh.authorization!.server.reload();
    assert.equal(await kidOfNewToken(), scheduled.body.id);
    const retired = (await h.admin('GET', '/signing-keys')).body.items.find((k: { state: string }) => k.state === 'retired');
    assert.ok(retired, 'the key the scheduled rotation replaced is retired and still published');
    assert.ok((await published()).includes(retired.id));

    await h.admin('POST', '/signing-keys/rotate', { immediate: true });
    assert.ok(!(await published()).includes(retired.id), 'the retired key is no longer published');
    expectProblem(await call(h, '/orders/x', { key: await forgedWith(retired.id) }), 401, 'TOKEN_INVALID');
  });
});
