import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { headerOf, insecure, startAuthHarness, type AuthHarness } from './support/oauth.ts';

describe('signing keys: published before they sign, kept until their tokens expire', () => {
  let h: AuthHarness;
  let machine: Awaited<ReturnType<AuthHarness['client']>>;
  const HOUR = 3_600_000;

  before(async () => {
    h = await startAuthHarness();
    const api = await h.api('orders', ['orders:read']);
    machine = await h.client({ name: 'Sync', grantTypes: ['client_credentials'], scopes: ['orders:read'], apiIds: [api.id] });
  });
  after(() => h.close());

  const kidOfNewToken = async () => {
    const res = await oauth.clientCredentialsGrantRequest(h.as, machine.client, machine.auth, {}, insecure);
    return headerOf((await oauth.processClientCredentialsResponse(h.as, machine.client, res)).access_token);
  };
  const published = async () => ((await (await fetch(h.as.jwks_uri!)).json()) as { keys: { kid: string; alg: string }[] }).keys.map((k) => k.kid);
  const keys = async () =>
    (await h.admin('GET', '/signing-keys')).body.items as { id: string; state: string; alg: string; publicJwk: Record<string, unknown> }[];

  test('the first start creates one active ES256 key, whose private part is stored sealed', async () => {
    const [only, ...rest] = await keys();
    assert.equal(rest.length, 0);
    assert.equal(only!.state, 'active');
    assert.equal(only!.alg, 'ES256');
    assert.equal((await kidOfNewToken()).kid, only!.id);
    const stored = (await h.gh.ctx.store.signingKeys.get(only!.id))!;
    assert.match(stored.sealedPrivateJwk, /^v1\./);
    assert.ok(!stored.sealedPrivateJwk.includes('"d"'));
    assert.equal((only!.publicJwk as { d?: string }).d, undefined);
  });

  test('a rotation publishes the new key at once but signs with it only after the lead; the old key stays published', async () => {
    const [old] = await keys();
    const rotated = await h.admin('POST', '/signing-keys/rotate', {});
    assert.equal(rotated.status, 201);
    assert.equal(rotated.body.state, 'next');
    assert.deepEqual(await published(), [old!.id, rotated.body.id], 'both published, the signing key first');
    assert.equal((await kidOfNewToken()).kid, old!.id, 'the old key still signs during the lead');

    h.clock.advance(HOUR + 1000);
    await h.gh.authorization!.server.reload();
    assert.equal((await kidOfNewToken()).kid, rotated.body.id);
    assert.deepEqual(await published(), [rotated.body.id, old!.id], 'the retired key is still published for its tokens');
    assert.deepEqual(
      (await keys()).map((k) => k.state),
      ['retired', 'active'],
    );

    h.clock.advance(24 * HOUR + 5 * 60_000);
    await h.gh.authorization!.server.reload();
    assert.deepEqual(await published(), [rotated.body.id], 'unpublished once every token it signed has expired');
    assert.ok((await h.audit('signing_key.retired')).some((e: any) => e.targetId === old!.id));
  });

  test('an immediate rotation (a key believed leaked) signs at once, in the algorithm asked for, and unpublishes the old key', async () => {
    for (const alg of ['EdDSA', 'RS256'] as const) {
      const [previous] = await published();
      const rotated = await h.admin('POST', '/signing-keys/rotate', { alg, immediate: true });
      assert.equal(rotated.body.state, 'active');
      const header = await kidOfNewToken();
      assert.equal(header.kid, rotated.body.id);
      assert.equal(header.alg, alg);
      assert.ok(!(await published()).includes(previous!), 'tokens signed with the leaked key stop verifying');
    }
    const bad = await h.admin('POST', '/signing-keys/rotate', { alg: 'HS256' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'VALIDATION_FAILED');
  });
});
