import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import type { RoutedExchange } from './exchange.ts';
import { IdentityJwtSigner, type SigningMaterial } from './identity-jwt.ts';

async function material(kid: string): Promise<SigningMaterial> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, alg: 'ES256', privateJwk: { ...(await exportJWK(privateKey)) } };
}

/** What identityClaims reads of an exchange: an API's audience and the app behind the key. */
const exchange = (now: number) =>
  ({
    now,
    route: { api: { tokens: { audience: 'urn:gatehouse:api:orders' } } },
    verification: { appId: 'app_1', keyId: 'key_1' },
    tokenVerification: null,
  }) as unknown as RoutedExchange;

describe('identity JWTs across signing-key changes', () => {
  test('a change that leaves the active key as it was keeps reusing the token; another active key gets a new one', async () => {
    const [a, b] = [await material('sig_a'), await material('sig_b')];
    let active = a;
    const signer = new IdentityJwtSigner('https://auth.example.com', async () => active);
    const first = await signer.token(exchange(1_000));
    assert.equal(await signer.token(exchange(2_000)), first, 'reused within its lifetime');
    // A key published ahead of its turn: signing_keys.changed, the active key unchanged.
    signer.reset();
    assert.equal(await signer.token(exchange(3_000)), first, 'still reused: the key that signed it is active');
    // An emergency rotation: another key active now.
    active = b;
    signer.reset();
    const second = await signer.token(exchange(4_000));
    assert.notEqual(second, first);
    assert.equal(decodeProtectedHeader(second).kid, 'sig_b');
  });

  test('when the key cannot be read after a change, no token is reused', async () => {
    let fail = false;
    const a = await material('sig_a');
    const signer = new IdentityJwtSigner('https://auth.example.com', async () => {
      if (fail) throw new Error('store away');
      return a;
    });
    const first = await signer.token(exchange(1_000));
    fail = true;
    signer.reset();
    await assert.rejects(Promise.resolve(signer.token(exchange(2_000))), /store away/);
    fail = false;
    assert.notEqual(await signer.token(exchange(3_000)), first, 'signed anew');
  });
});
