import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, EmbeddedJWK, type JWK } from 'jose';
import { MapSlotState, type SlotState } from '../limits/slot-state.ts';

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
}

/**
 * Checks a DPoP proof for a DPoP-bound access token (RFC 9449 §4.3 and §7.1): one compact JWS of type
 * `dpop+jwt`, signed by the public key in its own header (never a private one), for this method and URI,
 * recent, not seen before, hashing this access token (`ath`), by the key the token is bound to.
 */
export class DpopVerifier {
  readonly #windowSeconds: number;
  /**
   * Proof ids seen within the window, with the time (ms) each may be forgotten (replay, §11.1): in a
   * Map, or in the table the gateway workers share, so a proof used at one worker is refused at all.
   */
  readonly #seen: SlotState;

  constructor(windowSeconds = 60, seen: SlotState = new MapSlotState()) {
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
    const replayKey = `${c.jkt}:${claims.jti}`;
    // Seen-and-record is one step, so two workers given the same proof at once cannot both accept it;
    // a shared table with no room refuses the proof rather than forget it.
    let replayed = false;
    const recorded = this.#seen.update(replayKey, c.nowSeconds * 1000, (forgetAt) => {
      if (forgetAt !== undefined) return void (replayed = true);
      return (c.nowSeconds + 2 * this.#windowSeconds) * 1000 + 1;
    });
    if (replayed) return { ok: false, reason: 'the DPoP proof was already used' };
    if (!recorded) return { ok: false, reason: 'the DPoP proof cannot be checked for replay now' };
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
