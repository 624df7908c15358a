import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CompactVerifyGetKey,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { createLocalChangeBus, type ChangeBus } from '../events/change-bus.ts';
import type { Store } from '../store/port.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { TrustedIssuer } from './issuers.ts';
import { RevocationList } from './revocation-list.ts';
import { TokenVerifier } from './token-verifier.ts';

const NOW = Date.UTC(2026, 10, 29, 12);
const NOW_S = NOW / 1000;
const AUDIENCE = 'https://api.example/orders';
const ISSUER_A = 'https://id-a.example';
const ISSUER_B = 'https://id-b.example';

interface SigningKey {
  privateKey: CryptoKey;
  jwk: JWK;
  alg: string;
}

async function signingKey(alg: string, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg }, alg };
}

/** An access token (RFC 9068) as an issuer would sign it; `claims` and `header` override the defaults. */
function token(key: SigningKey, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({
    iss: ISSUER_A,
    sub: 'user-1',
    aud: AUDIENCE,
    iat: NOW_S,
    exp: NOW_S + 300,
    jti: crypto.randomUUID(),
    scope: 'orders:read orders:write',
    roles: ['clerk'],
    gid: 'grant-1',
    ...claims,
  })
    .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.jwk.kid, ...header })
    .sign(key.privateKey);
}

/** A token put together by hand, for headers and payloads jose would not sign. */
function unsigned(header: Record<string, unknown>, payload: Record<string, unknown> | string, signature = 'AAAA'): string {
  const part = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  return `${part(header)}.${part(payload)}.${signature}`;
}

describe('TokenVerifier', () => {
  let esA: SigningKey;
  let rsA: SigningKey;
  let esB: SigningKey;
  let dir: string;
  let store: Store;
  let changes: ChangeBus;
  let revocations: RevocationList;
  const clock = { now: NOW };
  /** Calls to issuer A's key lookup: one per signature actually checked. */
  let keyLookups = 0;
  let issuerA: TrustedIssuer;
  let issuerB: TrustedIssuer;
  let verifier: TokenVerifier;

  before(async () => {
    esA = await signingKey('ES256', 'a-es');
    rsA = await signingKey('RS256', 'a-rs');
    esB = await signingKey('ES256', 'b-es');
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-token-verifier-'));
    store = openSqliteStore(join(dir, 'gatehouse.db'));
    await store.migrate();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    clock.now = NOW;
    keyLookups = 0;
    changes = createLocalChangeBus();
    revocations = new RevocationList(store.revocations, changes, () => clock.now);
    // Issuer A publishes an RSA key too, but pins ES256: its RS256 tokens are refused all the same.
    const jwksA = createLocalJWKSet({ keys: [esA.jwk, rsA.jwk] });
    const keysA: CompactVerifyGetKey = (header, jws) => (keyLookups++, jwksA(header, jws));
    issuerA = { issuer: ISSUER_A, algorithms: ['ES256'], keys: keysA, clockSkewSeconds: 30, typ: 'at+jwt', audience: null };
    // Issuer B names its own audience and does not follow RFC 9068's typ.
    issuerB = {
      issuer: ISSUER_B,
      algorithms: ['ES256'],
      keys: createLocalJWKSet({ keys: [esB.jwk] }),
      clockSkewSeconds: 0,
      typ: null,
      audience: 'urn:b:orders',
    };
    verifier = new TokenVerifier({ issuers: () => [issuerA, issuerB], revocations, cacheSize: 100, clock: () => clock.now });
  });

  describe('issuer selection by iss', () => {
    test('a token is checked with the keys and rules of the issuer its iss names', async () => {
      const v = await verifier.verify(await token(esA), AUDIENCE);
      assert.equal(v.valid, true);
      assert.equal(v.code, 'VALID');
      if (v.valid) {
        assert.equal(v.claims?.sub, 'user-1');
        assert.deepEqual([...v.scopes].sort(), ['orders:read', 'orders:write']);
        assert.deepEqual([...v.roles], ['clerk']);
      }
      const b = await verifier.verify(await token(esB, { iss: ISSUER_B, aud: 'urn:b:orders' }, { typ: 'JWT' }), AUDIENCE);
      assert.equal(b.valid, true, 'issuer B: its own audience, any typ');
    });

    test('a token naming one issuer but signed with another issuer’s key is refused', async () => {
      const v = await verifier.verify(await token(esB, { iss: ISSUER_A }), AUDIENCE);
      assert.equal(v.valid, false);
      assert.equal(v.code, 'TOKEN_INVALID');
      assert.equal(
        (await verifier.verify(await token(esB, { iss: ISSUER_A }, { kid: 'a-es' }), AUDIENCE)).code,
        'TOKEN_INVALID',
        'naming A’s kid does not help',
      );
      assert.equal((await verifier.verify(await token(esA, { iss: ISSUER_B, aud: 'urn:b:orders' }), AUDIENCE)).code, 'TOKEN_INVALID');
    });

    test('a token from an issuer that is not trusted is refused before any key is looked up', async () => {
      assert.equal((await verifier.verify(await token(esA, { iss: 'https://evil.example' }), AUDIENCE)).code, 'TOKEN_INVALID');
      assert.equal((await verifier.verify(await token(esA, { iss: undefined }), AUDIENCE)).code, 'TOKEN_INVALID');
      assert.equal(keyLookups, 0);
    });

    test('each issuer’s audience rule applies: a fixed audience replaces the API’s', async () => {
      assert.equal((await verifier.verify(await token(esB, { iss: ISSUER_B, aud: AUDIENCE }), AUDIENCE)).code, 'TOKEN_WRONG_AUDIENCE');
    });
  });

  describe('pinned algorithms and headers', () => {
    test('a token signed with an algorithm the issuer did not pin is refused, even by a key the issuer publishes', async () => {
      const v = await verifier.verify(await token(rsA), AUDIENCE);
      assert.equal(v.valid, false);
      assert.equal(v.code, 'TOKEN_INVALID');
      assert.equal(keyLookups, 0, 'refused before any key is looked up');
    });

    test('alg none, in any spelling, is refused', async () => {
      for (const alg of ['none', 'None', 'NONE']) {
        assert.equal(
          (await verifier.verify(unsigned({ alg, typ: 'at+jwt' }, { iss: ISSUER_A, sub: 'u', aud: AUDIENCE, exp: NOW_S + 300 }), AUDIENCE)).code,
          'TOKEN_INVALID',
          alg,
        );
      }
    });

    test('an HMAC token keyed with the issuer’s public key is refused', async () => {
      const secret = new TextEncoder().encode(JSON.stringify(esA.jwk));
      const hmac = await new SignJWT({ iss: ISSUER_A, sub: 'u', aud: AUDIENCE, exp: NOW_S + 300 })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'a-es' })
        .sign(secret);
      assert.equal((await verifier.verify(hmac, AUDIENCE)).code, 'TOKEN_INVALID');
    });

    test('a header that names its own key (jwk, jku, x5u, x5c) is refused, even on a token the issuer signed', async () => {
      const { kid: _, ...publicJwk } = esA.jwk;
      const headers = { jwk: publicJwk, jku: 'https://evil.example/jwks', x5u: 'https://evil.example/cert.pem', x5c: ['MIIB'] };
      for (const [name, value] of Object.entries(headers)) {
        assert.equal((await verifier.verify(await token(esA, {}, { [name]: value }), AUDIENCE)).code, 'TOKEN_INVALID', name);
      }
      // A key of the caller's own, embedded in the header, is never used to check the signature.
      const attacker = await signingKey('ES256', 'a-es');
      const { kid: __, ...attackerJwk } = attacker.jwk;
      assert.equal((await verifier.verify(await token(attacker, {}, { jwk: attackerJwk }), AUDIENCE)).code, 'TOKEN_INVALID');
    });

    test('typ must be at+jwt (application/ prefix and case aside) for an issuer that requires it', async () => {
      assert.equal((await verifier.verify(await token(esA, {}, { typ: 'JWT' }), AUDIENCE)).code, 'TOKEN_INVALID');
      assert.equal((await verifier.verify(await token(esA, {}, { typ: 'application/AT+JWT' }), AUDIENCE)).code, 'VALID');
    });
  });

  describe('claims', () => {
    test('ID tokens are refused: a nonce, at_hash or c_hash marks one', async () => {
      for (const claim of ['nonce', 'at_hash', 'c_hash']) {
        const v = await verifier.verify(await token(esA, { [claim]: 'x' }), AUDIENCE);
        assert.equal(v.valid, false, claim);
        assert.equal(v.code, 'TOKEN_INVALID', claim);
      }
    });

    test('a token for another audience is refused; one audience among several is enough', async () => {
      const other = await verifier.verify(await token(esA, { aud: 'https://api.example/other' }), AUDIENCE);
      assert.equal(other.valid, false);
      assert.equal(other.code, 'TOKEN_WRONG_AUDIENCE');
      assert.equal((await verifier.verify(await token(esA, { aud: ['https://api.example/other', AUDIENCE] }), AUDIENCE)).code, 'VALID');
    });

    test('a cached token presented to another API is refused for its audience', async () => {
      const t = await token(esA);
      assert.equal((await verifier.verify(t, AUDIENCE)).code, 'VALID');
      assert.equal((await verifier.verify(t, 'https://api.example/other')).code, 'TOKEN_WRONG_AUDIENCE');
      assert.equal(keyLookups, 1, 'the second answer came from the cache');
    });

    test('a token without exp, or expired beyond the skew, or not yet valid, is refused', async () => {
      assert.equal((await verifier.verify(await token(esA, { exp: undefined }), AUDIENCE)).code, 'TOKEN_INVALID');
      assert.equal((await verifier.verify(await token(esA, { exp: NOW_S - 30 }), AUDIENCE)).code, 'TOKEN_EXPIRED');
      assert.equal((await verifier.verify(await token(esA, { exp: NOW_S - 29 }), AUDIENCE)).code, 'VALID', 'within the 30 s skew');
      assert.equal((await verifier.verify(await token(esA, { nbf: NOW_S + 31 }), AUDIENCE)).code, 'TOKEN_INVALID');
      assert.equal((await verifier.verify(await token(esA, { iat: NOW_S + 31 }), AUDIENCE)).code, 'TOKEN_INVALID');
    });

    test('a payload that is not a JSON object is refused', async () => {
      // Properly signed, so only the payload is wrong.
      const { FlattenedSign } = await import('jose');
      const jws = await new FlattenedSign(new TextEncoder().encode('not json'))
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'a-es' })
        .sign(esA.privateKey);
      assert.equal((await verifier.verify(`${jws.protected}.${jws.payload}.${jws.signature}`, AUDIENCE)).code, 'TOKEN_INVALID');
    });

    test('an opaque token is refused when no issuer introspects them', async () => {
      const v = verifier.verify('opaque-token-value', AUDIENCE);
      assert.equal(v instanceof Promise, false, 'answered without waiting');
      assert.equal((await v).code, 'TOKEN_INVALID');
    });

    test('a DPoP-bound token (cnf.jkt) is refused as a plain bearer token and accepted under DPoP', async () => {
      const jkt = await calculateJwkThumbprint(esB.jwk);
      const t = await token(esA, { cnf: { jkt } });
      const bearer = await verifier.verify(t, AUDIENCE, 'bearer');
      assert.equal(bearer.valid, false);
      assert.equal(bearer.code, 'DPOP_REQUIRED');
      assert.equal((await verifier.verify(t, AUDIENCE, 'dpop')).code, 'VALID');
      assert.equal((await verifier.verify(t, AUDIENCE, 'bearer')).code, 'DPOP_REQUIRED', 'from the cache too');
    });
  });

  describe('the verified-token cache', () => {
    test('a repeated token is answered from the cache: its signature is checked once', async () => {
      const t = await token(esA);
      assert.equal((await verifier.verify(t, AUDIENCE)).code, 'VALID');
      const hit = verifier.verify(t, AUDIENCE);
      assert.equal(hit instanceof Promise, false, 'a hit is answered synchronously');
      assert.equal((await hit).code, 'VALID');
      assert.equal(keyLookups, 1);
    });

    test("a cached token's signature on another header or payload is no hit: that token is checked and refused", async () => {
      const t = await token(esA, { scope: 'orders:read' });
      assert.equal((await verifier.verify(t, AUDIENCE)).code, 'VALID');
      const [header, payload, signature] = t.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      const widened = `${header}.${Buffer.from(JSON.stringify({ ...claims, scope: 'orders:read orders:admin' })).toString('base64url')}.${signature}`;
      const otherHeader = `${Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'a-es', x: 1 })).toString('base64url')}.${payload}.${signature}`;
      for (const forged of [widened, otherHeader]) {
        const v = await verifier.verify(forged, AUDIENCE);
        assert.equal(v.valid, false);
        assert.equal(v.code, 'TOKEN_INVALID');
      }
      assert.equal(keyLookups, 3, 'each forged token had its signature checked');
      const again = await verifier.verify(t, AUDIENCE);
      assert.equal(again.valid && [...again.scopes].join(' '), 'orders:read', 'the genuine token is still answered from the cache, as it was');
      assert.equal(keyLookups, 3);
    });

    test('a cached token is refused once its exp (plus skew) has passed', async () => {
      const t = await token(esA, { exp: NOW_S + 60 });
      assert.equal((await verifier.verify(t, AUDIENCE)).code, 'VALID');
      clock.now = NOW + 60_000 + 29_999;
      assert.equal((await verifier.verify(t, AUDIENCE)).code, 'VALID', 'within the skew');
      clock.now = NOW + 60_000 + 30_000;
      const expired = await verifier.verify(t, AUDIENCE);
      assert.equal(expired.valid, false);
      assert.equal(expired.code, 'TOKEN_EXPIRED');
      assert.equal(keyLookups, 1, 'the cache said so; the signature was not checked again');
      assert.equal((await verifier.verify(t, AUDIENCE)).code, 'TOKEN_EXPIRED', 'and a fresh check agrees');
    });

    test('with cacheSize 0 every request checks the signature', async () => {
      const uncached = new TokenVerifier({ issuers: () => [issuerA], revocations, cacheSize: 0, clock: () => clock.now });
      const t = await token(esA);
      for (let i = 0; i < 3; i++) assert.equal((await uncached.verify(t, AUDIENCE)).code, 'VALID');
      assert.equal(keyLookups, 3);
    });

    test('a grant revoked on this node is refused at once, though its token is cached', async () => {
      const t = await token(esA, { gid: 'grant-local' });
      assert.equal((await verifier.verify(t, AUDIENCE)).code, 'VALID');
      changes.publish({ type: 'token.revoked', kind: 'grant', id: 'grant-local' });
      const revoked = await verifier.verify(t, AUDIENCE);
      assert.equal(revoked.valid, false);
      assert.equal(revoked.code, 'TOKEN_REVOKED');
      assert.equal(keyLookups, 1, 'answered from the cache, with the revocation list consulted');
    });

    test('one access token revoked by its jti is refused at once; another from the same grant is not', async () => {
      const first = await token(esA, { jti: 'jti-revoked' });
      const second = await token(esA, { jti: 'jti-kept' });
      assert.equal((await verifier.verify(first, AUDIENCE)).code, 'VALID');
      changes.publish({ type: 'token.revoked', kind: 'token', id: 'jti-revoked' });
      assert.equal((await verifier.verify(first, AUDIENCE)).code, 'TOKEN_REVOKED');
      assert.equal((await verifier.verify(second, AUDIENCE)).code, 'VALID');
    });

    test('a grant revoked on another node is refused from the next poll of the store on', async () => {
      const t = await token(esA, { gid: 'grant-remote' });
      await revocations.refresh();
      assert.equal((await verifier.verify(t, AUDIENCE)).code, 'VALID');
      await store.revocations.add({ kind: 'grant', id: 'grant-remote', revokedAt: clock.now, expiresAt: clock.now + 300_000 });
      assert.equal((await verifier.verify(t, AUDIENCE)).code, 'VALID', 'not polled yet');
      clock.now += 1000;
      await revocations.refresh();
      assert.equal((await verifier.verify(t, AUDIENCE)).code, 'TOKEN_REVOKED');
    });

    test('a token revoked before it was first seen is refused on its first check too', async () => {
      changes.publish({ type: 'token.revoked', kind: 'grant', id: 'grant-early' });
      assert.equal((await verifier.verify(await token(esA, { gid: 'grant-early' }), AUDIENCE)).code, 'TOKEN_REVOKED');
    });
  });
});
