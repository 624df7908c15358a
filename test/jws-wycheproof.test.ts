import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { ASYMMETRIC_ALGORITHMS } from '../src/domain/access-token-claims.ts';
import { verifyJws } from '../src/verification/jws.ts';

/**
 * Every Wycheproof JWS case (C2SP/wycheproof, in ../shared/vectors) through the gateway's signature
 * check, configured as an issuer would be: the group's public key as its JWKS, its algorithm pinned.
 * Not applicable: cases in JSON serialization (a bearer token is compact) and HMAC groups (the gateway
 * never accepts a symmetric algorithm; those tokens must all be refused, and are).
 */
const VECTORS = fileURLToPath(new URL('../../shared/vectors/wycheproof/json_web_signature_test.json', import.meta.url));

/**
 * RFC 7520 examples whose key Wycheproof labels with an `alg` the token does not use (PS256 for a
 * PS384 token; the non-standard ES521 for an ES512 token). A key's `alg` says what it is for
 * (RFC 7517 §4.4), so the gateway refuses them: stricter than the vector's "valid", never looser.
 */
const STRICTER: Record<number, string> = {
  346: 'key alg PS256, token PS384',
  347: 'key alg ES521, token ES512',
  350: 'key alg PS256, token PS384',
  351: 'key alg ES521, token ES512',
};

interface Case {
  tcId: number;
  comment: string;
  jws: unknown;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface Group {
  comment: string;
  public?: Record<string, unknown>;
  private?: Record<string, unknown>;
  tests: Case[];
}

test('Wycheproof JWS vectors: every applicable case is accepted or refused as its result says', async (t) => {
  const suite = JSON.parse(readFileSync(VECTORS, 'utf8')) as { numberOfTests: number; testGroups: Group[] };
  const counts = { total: 0, applicable: 0, passed: 0, hmacRefused: 0, jsonSerialization: 0, stricter: 0 };
  const failures: string[] = [];
  for (const group of suite.testGroups) {
    const key = (group.public ?? group.private)!;
    const hmac = key.kty === 'oct';
    const alg = typeof key.alg === 'string' ? key.alg : undefined;
    const algorithms = alg && (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg) ? [alg] : [...ASYMMETRIC_ALGORITHMS];
    const keys = createLocalJWKSet({ keys: [hmac ? key : publicPart(key)] } as JSONWebKeySet);
    for (const c of group.tests) {
      counts.total++;
      if (typeof c.jws !== 'string') {
        counts.jsonSerialization++;
        continue;
      }
      const outcome = await verifyJws(c.jws, keys, algorithms);
      if (hmac) {
        assert.equal(outcome.ok, false, `tcId ${c.tcId}: an HMAC token must never pass`);
        counts.hmacRefused++;
        continue;
      }
      if (STRICTER[c.tcId]) {
        assert.equal(outcome.ok, false, `tcId ${c.tcId} (${STRICTER[c.tcId]}) is refused`);
        counts.stricter++;
        continue;
      }
      counts.applicable++;
      const expected = c.result === 'valid';
      if (outcome.ok === expected) counts.passed++;
      else failures.push(`tcId ${c.tcId} (${group.comment}: ${c.comment}) expected ${c.result}, got ${outcome.ok ? 'accepted' : `refused: ${outcome.reason}`}`);
    }
  }
  t.diagnostic(
    `Wycheproof JWS: ${counts.total} cases; ${counts.applicable} applicable, ${counts.passed} passed; ${counts.hmacRefused} HMAC cases refused; ${counts.stricter} refused where the key's own alg differs (stricter); ${counts.jsonSerialization} in JSON serialization, not applicable`,
  );
  assert.equal(counts.total, suite.numberOfTests);
  assert.deepEqual(failures, []);
  assert.equal(counts.passed, counts.applicable);
  assert.ok(counts.applicable > 300, `only ${counts.applicable} applicable cases`);
});

/** The verifier is handed public keys only, as it would get them from a JWKS. */
function publicPart(jwk: Record<string, unknown>): Record<string, unknown> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest } = jwk;
  return rest;
}
