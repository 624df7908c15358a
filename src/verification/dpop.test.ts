import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { SharedMemoryLimiter } from '../limits/shared-memory-limiter.ts';
import { DpopVerifier, type ProofCheck, type ProofResult } from './dpop.ts';
import { sharedReplaySet } from './replay-set.ts';

const NOW_S = Date.UTC(2026, 10, 29, 12) / 1000;
const URL_ = 'https://gateway.example/orders/items';
const ACCESS_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl';
const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

interface ProofKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
  jkt: string;
  alg: string;
}

async function proofKey(alg: string): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, privateJwk: await exportJWK(privateKey), jkt: await calculateJwkThumbprint(publicJwk), alg };
}

/** A DPoP proof (RFC 9449 §4.2) for GET on URL_ with ACCESS_TOKEN; `claims` and `header` override. */
function proof(key: ProofKey, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ jti: crypto.randomUUID(), htm: 'GET', htu: URL_, iat: NOW_S, ath: ath(ACCESS_TOKEN), ...claims })
    .setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.publicJwk, ...header })
    .sign(key.privateKey);
}

function refused(result: ProofResult, reason: RegExp, message?: string): void {
  assert.equal(result.ok, false, message);
  if (!result.ok) assert.match(result.reason, reason, message);
}

describe('DPoP proofs (RFC 9449)', () => {
  let es: ProofKey;
  let other: ProofKey;
  let verifier: DpopVerifier;
  const check = (p: string | undefined, overrides: Partial<ProofCheck> = {}) =>
    verifier.check({ proof: p, method: 'GET', url: URL_, accessToken: ACCESS_TOKEN, jkt: es.jkt, nowSeconds: NOW_S, ...overrides });

  before(async () => {
    es = await proofKey('ES256');
    other = await proofKey('ES256');
  });

  test('a proof for this method, URI and token, by the bound key, is accepted', async () => {
    verifier = new DpopVerifier(60);
    assert.deepEqual(await check(await proof(es)), { ok: true });
    const ed = await proofKey('EdDSA');
    assert.equal((await check(await proof(ed), { jkt: ed.jkt })).ok, true, 'EdDSA too');
  });

  test('exactly one proof: none, or two in one header, is refused', async () => {
    verifier = new DpopVerifier(60);
    refused(await check(undefined), /exactly one/);
    refused(await check(`${await proof(es)},${await proof(es)}`), /exactly one/);
  });

  describe('the header', () => {
    test('typ must be dpop+jwt', async () => {
      verifier = new DpopVerifier(60);
      refused(await check(await proof(es, {}, { typ: 'JWT' })), /typ/);
      refused(await check(await proof(es, {}, { typ: undefined })), /typ/);
    });

    test('a symmetric algorithm, or none, is refused', async () => {
      verifier = new DpopVerifier(60);
      const secret = new TextEncoder().encode('a shared secret of thirty-two bytes!');
      const hmac = await new SignJWT({ jti: crypto.randomUUID(), htm: 'GET', htu: URL_, iat: NOW_S, ath: ath(ACCESS_TOKEN) })
        .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } } as Parameters<
          SignJWT['setProtectedHeader']
        >[0])
        .sign(secret);
      refused(await check(hmac), /signature or header/);
      const [, payload] = (await proof(es)).split('.');
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: es.publicJwk })).toString('base64url')}.${payload}.`;
      refused(await check(none), /signature or header/);
    });

    test('the proof must carry the public key that signed it', async () => {
      verifier = new DpopVerifier(60);
      refused(await check(await proof(es, {}, { jwk: undefined })), /signature or header/, 'no jwk');
      refused(
        await check(await proof(es, {}, { jwk: other.publicJwk }), { jkt: other.jkt }),
        /signature or header/,
        'signed by another key than the one it carries',
      );
    });

    test('a private key in the header is refused', async () => {
      verifier = new DpopVerifier(60);
      refused(await check(await proof(es, {}, { jwk: es.privateJwk })), /private key|signature or header/);
      // A public RSA key with one private member beside it: importable as a public key, refused all the same.
      const rsa = await proofKey('RS256');
      refused(await check(await proof(rsa, {}, { jwk: { ...rsa.publicJwk, p: rsa.privateJwk.p } }), { jkt: rsa.jkt }), /private key/);
    });

    test('a proof signed by another key than the token is bound to is refused', async () => {
      verifier = new DpopVerifier(60);
      refused(await check(await proof(other)), /another key/);
    });
  });

  describe('the claims', () => {
    test('htm must be the request method', async () => {
      verifier = new DpopVerifier(60);
      refused(await check(await proof(es, { htm: 'POST' })), /another method/);
      refused(await check(await proof(es, { htm: 'get' })), /another method/, 'compared exactly');
    });

    test('htu must be the request URI, compared without query and fragment', async () => {
      verifier = new DpopVerifier(60);
      refused(await check(await proof(es, { htu: 'https://gateway.example/orders/other' })), /another URI/);
      refused(await check(await proof(es, { htu: 'https://evil.example/orders/items' })), /another URI/);
      refused(await check(await proof(es, { htu: 'http://gateway.example/orders/items' })), /another URI/, 'another scheme');
      refused(await check(await proof(es, { htu: 'not a uri' })), /another URI/);
      refused(await check(await proof(es, { htu: undefined })), /another URI/);
      assert.equal((await check(await proof(es, { htu: `${URL_}?page=2#top` }))).ok, true);
      assert.equal(
        (await check(await proof(es, { htu: 'HTTPS://GATEWAY.EXAMPLE:443/orders/items' }))).ok,
        true,
        'scheme, host and default port normalised (RFC 3986 §6.2.2-6.2.3)',
      );
    });

    test('iat must be within the window, either way', async () => {
      verifier = new DpopVerifier(60);
      assert.equal((await check(await proof(es, { iat: NOW_S - 60 }))).ok, true);
      assert.equal((await check(await proof(es, { iat: NOW_S + 60 }))).ok, true);
      refused(await check(await proof(es, { iat: NOW_S - 61 })), /too old/);
      refused(await check(await proof(es, { iat: NOW_S + 61 })), /future/);
      refused(await check(await proof(es, { iat: undefined })), /too old/);
    });

    test('ath must hash this access token', async () => {
      verifier = new DpopVerifier(60);
      refused(await check(await proof(es, { ath: ath('another-token') })), /this access token/);
      refused(await check(await proof(es, { ath: undefined })), /this access token/);
    });

    test('a jti is required', async () => {
      verifier = new DpopVerifier(60);
      refused(await check(await proof(es, { jti: undefined })), /jti/);
      refused(await check(await proof(es, { jti: 'short' })), /jti/);
    });
  });

  describe('replay', () => {
    test('a proof is accepted once: the same proof again, or another with its jti, is refused', async () => {
      verifier = new DpopVerifier(60);
      const p = await proof(es, { jti: 'jti-used-once' });
      assert.equal((await check(p)).ok, true);
      refused(await check(p), /already used/);
      refused(await check(await proof(es, { jti: 'jti-used-once', iat: NOW_S + 1 }), { nowSeconds: NOW_S + 1 }), /already used/);
    });

    test('a sweep keeps a jti while a proof carrying it could still pass the iat check', async () => {
      verifier = new DpopVerifier(60);
      const p = await proof(es, { jti: 'jti-swept' });
      assert.equal((await check(p)).ok, true);
      verifier.sweep(NOW_S + 60);
      refused(await check(p, { nowSeconds: NOW_S + 60 }), /already used/, 'at the end of the window');
      verifier.sweep(NOW_S + 120);
      refused(await check(p, { nowSeconds: NOW_S + 120 }), /too old/, 'forgotten only once its iat no longer passes');
    });

    test('a proof dated up to the window ahead is remembered for as long as its iat passes', async () => {
      verifier = new DpopVerifier(60);
      const ahead = await proof(es, { jti: 'jti-from-the-future', iat: NOW_S + 60 });
      assert.equal((await check(ahead)).ok, true);
      // Its iat passes until NOW_S + 120 inclusive: a sweep then must not forget it.
      verifier.sweep(NOW_S + 120);
      refused(await check(ahead, { nowSeconds: NOW_S + 120 }), /already used/);
      verifier.sweep(NOW_S + 121);
      refused(await check(ahead, { nowSeconds: NOW_S + 121 }), /too old/);
    });

    test('in the table gateway workers share, swept by the millisecond, a proof is remembered to the end of its last second', async () => {
      const limiter = SharedMemoryLimiter.create(4096);
      verifier = new DpopVerifier(60, sharedReplaySet(limiter.table));
      const ahead = await proof(es, { jti: 'jti-last-second', iat: NOW_S + 60 });
      assert.equal((await check(ahead)).ok, true);
      // The main thread's sweeper compacts the table with its millisecond clock, late in the last second the iat passes.
      limiter.sweep((NOW_S + 120) * 1000 + 900);
      refused(await check(ahead, { nowSeconds: NOW_S + 120 }), /already used/);
    });

    test('the same jti from another key is another proof', async () => {
      verifier = new DpopVerifier(60);
      assert.equal((await check(await proof(es, { jti: 'jti-shared' }))).ok, true);
      assert.equal((await check(await proof(other, { jti: 'jti-shared' }), { jkt: other.jkt })).ok, true);
    });
  });
});
