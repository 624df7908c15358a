import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, EmbeddedJWK, type JWK } from 'jose';
import type { WhenUnavailable } from '../limits/port.ts';
import { MemoryReplaySet, type ReplaySet } from './replay-set.ts';

/** Algorithms a DPoP proof may use: asymmetric only (RFC 9449 §4.2). */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'RS256', 'PS256'];
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

export type ProofResult = { ok: true } | { ok: false; reason: string };

export interface ProofCheck {
  proof: string | undefined;
  method: string;
  /** The request's URI without query and fragment (RFC 9449 §4.3 check 9). */
  url: string;
  accessToken: string;
  /** The token's `cnf.jkt`. */
  jkt: string;
  nowSeconds: number;
  /** What a shared replay set does while it cannot answer (the API's whenRedisUnavailable). */
  whenUnavailable?: WhenUnavailable;
}

/**
 * Checks a DPoP proof for a DPoP-bound access token (RFC 9449 §4.3 and §7.1): one compact JWS of type
 * `dpop+jwt`, signed by the public key in its own header (never a private one), for this method and URI,
 * recent, not seen before, hashing this access token (`ath`), by the key the token is bound to.
 */
export class DpopVerifier {
  readonly #windowSeconds: number;
  /**
   * Proof ids seen within the window, until each may be forgotten (replay, §11.1): in a Map, in the
   * table the gateway workers share, or in Redis for every node (replay-set.ts, redis-replay-set.ts).
   */
  readonly #seen: ReplaySet;

  constructor(windowSeconds = 60, seen: ReplaySet = new MemoryReplaySet()) {
    this.#windowSeconds = windowSeconds;
    this.#seen = seen;
  }

  async check(c: ProofCheck): Promise<ProofResult> {
    if (!c.proof || c.proof.includes(',')) return { ok: false, reason: 'send exactly one DPoP proof header' };
    let verified;
    try {
      verified = await compactVerify(c.proof, EmbeddedJWK, { algorithms: DPOP_ALGORITHMS });
    } catch {
      return { ok: false, reason: 'the DPoP proof signature or header is not valid' };
    }
    const header = verified.protectedHeader;
    if (header.typ !== 'dpop+jwt') return { ok: false, reason: 'the DPoP proof must have typ dpop+jwt' };
    const jwk = header.jwk as JWK;
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) return { ok: false, reason: 'the DPoP proof header carries a private key' };
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(verified.payload).toString('utf8'));
    } catch {
      return { ok: false, reason: 'the DPoP proof payload is not JSON' };
    }
    if (typeof claims.jti !== 'string' || claims.jti.length < 8 || claims.jti.length > 256) return { ok: false, reason: 'the DPoP proof needs a jti' };
    if (claims.htm !== c.method) return { ok: false, reason: 'the DPoP proof is for another method' };
    if (typeof claims.htu !== 'string' || normalizeUri(claims.htu) !== normalizeUri(c.url)) return { ok: false, reason: 'the DPoP proof is for another URI' };
    if (typeof claims.iat !== 'number' || Math.abs(claims.iat - c.nowSeconds) > this.#windowSeconds)
      return { ok: false, reason: 'the DPoP proof is too old or from the future' };
    const ath = createHash('sha256').update(c.accessToken).digest('base64url');
    if (claims.ath !== ath) return { ok: false, reason: 'the DPoP proof is not for this access token' };
    if ((await calculateJwkThumbprint(jwk, 'sha256')) !== c.jkt)
      return { ok: false, reason: 'the DPoP proof is signed by another key than the token is bound to' };
    // Seen-and-record is one step, so two workers or nodes given the same proof at once cannot both
    // accept it. Kept for the proof's lifetime: its iat passes for a window on either side of now, to
    // the end of that last second (the table gateway workers share is swept by the millisecond).
    const forgetAt = (c.nowSeconds + 2 * this.#windowSeconds + 1) * 1000;
    const verdict = await this.#seen.firstUse(`${c.jkt}:${claims.jti}`, c.nowSeconds * 1000, forgetAt, c.whenUnavailable);
    if (verdict === 'replayed') return { ok: false, reason: 'the DPoP proof was already used' };
    // A full shared table, or Redis away with the API failing closed: refused rather than forgotten.
    if (verdict === 'unavailable') return { ok: false, reason: 'the DPoP proof cannot be checked for replay now' };
    return { ok: true };
  }

  /** A proof passes the iat check up to and including `forgetAt` (iat at most a window ahead, plus a window): kept until after it. */
  sweep(nowSeconds: number): void {
    this.#seen.sweep(nowSeconds * 1000);
  }
}

/** RFC 9449 §4.3: compare without query and fragment, after RFC 3986 §6.2.2-6.2.3 normalisation. */
function normalizeUri(uri: string): string | null {
  try {
    const url = new URL(uri);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return null;
  }
}
