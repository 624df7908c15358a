import type { AccessTokenClaims } from '../domain/access-token-claims.ts';
import type { KeyCode, KeyDenialCode, TokenDenialCode } from '../domain/codes.ts';
import type { RequestFacts } from '../domain/key-decision.ts';
import type { LimitState } from '../limits/port.ts';

/**
 * The verification ports: what the gateway's stages and the control plane's services ask of the
 * verifiers. They hold these interfaces, never the classes, so verifiers for several nodes can take
 * their place without either plane changing.
 */

/** "May this key make this request?": KeyVerifier (its cache, the limiter, usage counting) implements it. */
export interface KeyChecker {
  /**
   * The verdict on a key's secret for a request; with `consume` false, every rule and limit is
   * decided but nothing is counted. Synchronous when the answer is at hand (a cached key, an
   * in-memory limiter), so the common request allocates no promise.
   */
  verify(secret: string, facts: RequestFacts, consume?: boolean): Verification | Promise<Verification>;
  /** The same checks and counting for the key with this id: the parent of a token exchanged for it. */
  verifyById(keyId: string, facts: RequestFacts): Verification | Promise<Verification>;
  /** Whether the key with this id may be used at all (revoked, disabled, expired, gone), counting nothing. */
  standingById(keyId: string): KeyCode | Promise<KeyCode>;
}

/**
 * The answer to "may this key make this request?": data, never an exception. A union on `valid`
 * (and, for a refusal, on whether a key was found), so each side has only the fields it really has.
 */
export type Verification = VerifiedKey | RefusedKey | UnknownKey;

/** The key may make this request, and was counted for it. */
export interface VerifiedKey {
  valid: true;
  code: 'VALID';
  keyId: string;
  appId: string;
  expiresAt: number | null;
  /** The key's scopes (policy folded in). */
  scopes: ReadonlySet<string>;
  /** Where the key stands on each of its limits after this request (for RateLimit headers). */
  limits: readonly LimitState[];
}

interface Refusal {
  valid: false;
  /** For RATE_LIMITED / QUOTA_EXCEEDED: the limits as they stand; empty otherwise. */
  limits: readonly LimitState[];
  /** For RATE_LIMITED / QUOTA_EXCEEDED: milliseconds until a retry can succeed; 0 otherwise. */
  retryAfterMs: number;
}

/** A key of ours that may not make this request (status, access, scopes, limits). */
export interface RefusedKey extends Refusal {
  code: Exclude<KeyDenialCode, UnknownKey['code']>;
  keyId: string;
  appId: string;
  expiresAt: number | null;
}

/** Not one of our keys: not well-formed, or not in the store. Nothing more is known. */
export interface UnknownKey extends Refusal {
  code: 'MALFORMED' | 'NOT_FOUND';
  keyId: null;
  appId: null;
  expiresAt: null;
}

/** The access-token port: TokenVerifier (issuers, pinned algorithms, claims, revocations, a cache) implements it. */
export interface TokenChecker {
  /** The verdict on an access token for an API's audience; `dpop`: the token came with the DPoP scheme. */
  verify(token: string, audience: string, scheme?: 'bearer' | 'dpop'): TokenVerification | Promise<TokenVerification>;
}

/** The answer to "is this access token good for this API?": data, never an exception. */
export type TokenVerification = VerifiedToken | RefusedToken;

export interface VerifiedToken {
  valid: true;
  code: 'VALID';
  claims: AccessTokenClaims;
  scopes: ReadonlySet<string>;
  roles: ReadonlySet<string>;
}

/** Refused: only the reason (domain/codes.ts), nothing from a token that did not pass. */
export interface RefusedToken {
  valid: false;
  code: TokenDenialCode;
}
