import type { KeyCode, TokenCode } from '../domain/codes.ts';

/**
 * What the verifiers report as they work, for metrics: a port, so verification/ knows nothing of
 * how it is counted. Called on the request path: implementations must be a few additions, no more.
 */
export interface VerificationObserver {
  /** A lookup in the key cache (by the secret's fingerprint, or by id for an exchanged token's parent key). */
  keyCache(hit: boolean): void;
  /** A lookup in the verified-token cache (JWT access tokens, when the cache is on). */
  tokenCache(hit: boolean): void;
  /** The verdict on a key (gateway and verify endpoint alike), and on an access token. */
  keyVerified(code: KeyCode): void;
  tokenVerified(code: TokenCode): void;
}
