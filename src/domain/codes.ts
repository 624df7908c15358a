/**
 * The closed set of outcome codes. Verification answers carry one of KEY_CODES; the gateway and the
 * admin API may also answer with the request-level codes below. One table maps each to its HTTP
 * status so the gateway and the verify endpoint can never disagree.
 */
export const KEY_CODES = [
  'VALID',
  'MALFORMED',
  'NOT_FOUND',
  'DISABLED',
  'EXPIRED',
  'REVOKED',
  'FORBIDDEN',
  'INSUFFICIENT_SCOPE',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
] as const;
export type KeyCode = (typeof KEY_CODES)[number];
/** Why a key may not make a request: every key verdict but VALID. */
export type KeyDenialCode = Exclude<KeyCode, 'VALID'>;

/** Access-token verdicts (verification/token-verifier.ts); DPOP_INVALID is the proof's, checked after. */
export const TOKEN_CODES = ['VALID', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED', 'TOKEN_WRONG_AUDIENCE', 'DPOP_REQUIRED'] as const;
export type TokenCode = (typeof TOKEN_CODES)[number];
export type TokenDenialCode = Exclude<TokenCode, 'VALID'>;

export type ProblemCode =
  | KeyDenialCode
  | TokenDenialCode
  | 'MISSING_API_KEY'
  | 'MISSING_TOKEN'
  | 'MISSING_CREDENTIAL'
  | 'AUTH_RATE_LIMITED'
  | 'ROUTE_NOT_FOUND'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'INVALID_JSON'
  | 'VALIDATION_FAILED'
  | 'PATH_NOT_CANONICAL'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_NOT_FOUND'
  | 'CONFLICT'
  | 'METHOD_NOT_ALLOWED'
  | 'AUTHORIZATION_DISABLED'
  | 'ANALYTICS_DISABLED'
  | 'WEBHOOKS_DISABLED'
  | 'USAGE_QUERY_TOO_LARGE'
  | 'USAGE_NOT_RETAINED'
  | 'DPOP_INVALID'
  | 'ROLE_REQUIRED'
  | 'CREDENTIALS_OVER_HTTP'
  | 'HTTPS_REQUIRED'
  | 'CREDENTIALS_IN_QUERY'
  | 'ADDRESS_NOT_ALLOWED'
  | 'CLIENT_CERTIFICATE_REQUIRED'
  | 'STORAGE_UNAVAILABLE'
  | 'LIMITS_UNAVAILABLE'
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_INVALID'
  | 'SESSION_REQUIRED'
  | 'CSRF_REJECTED'
  | 'SIGN_UP_CLOSED'
  | 'LIMIT_REACHED'
  | 'ROTATION_IN_PROGRESS'
  | 'CONSOLE_UNAVAILABLE'
  | 'STARTING'
  | 'INTERNAL';

interface ProblemKind {
  status: number;
  title: string;
  /** RFC 6750 §3.1 error for WWW-Authenticate on 401/403 answers about a credential. */
  bearerError?: 'invalid_token' | 'insufficient_scope' | 'invalid_request' | 'invalid_dpop_proof';
  /** The challenge's scheme when not Bearer (RFC 9449 §7.1). */
  scheme?: 'DPoP';
}

export const PROBLEMS: Readonly<Record<ProblemCode, ProblemKind>> = {
  // RFC 9457 §3.1.3: a title is the same for every occurrence of a type, so each missing credential has its own code.
  MISSING_API_KEY: { status: 401, title: 'An API key is required' },
  MISSING_TOKEN: { status: 401, title: 'An access token is required' },
  MISSING_CREDENTIAL: { status: 401, title: 'An API key and an access token are required' },
  MALFORMED: { status: 401, title: 'The API key is malformed', bearerError: 'invalid_token' },
  NOT_FOUND: { status: 401, title: 'The API key is not known', bearerError: 'invalid_token' },
  DISABLED: { status: 401, title: 'The API key is disabled', bearerError: 'invalid_token' },
  EXPIRED: { status: 401, title: 'The API key has expired', bearerError: 'invalid_token' },
  REVOKED: { status: 401, title: 'The API key has been revoked', bearerError: 'invalid_token' },
  FORBIDDEN: { status: 403, title: 'The API key may not be used for this request' },
  INSUFFICIENT_SCOPE: { status: 403, title: 'The credential lacks a required scope', bearerError: 'insufficient_scope' },
  RATE_LIMITED: { status: 429, title: 'Rate limit exceeded' },
  QUOTA_EXCEEDED: { status: 429, title: 'Quota exceeded for this period' },
  AUTH_RATE_LIMITED: { status: 429, title: 'Too many failed authentication attempts from this address' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No API is published at this path' },
  UPSTREAM_UNAVAILABLE: { status: 502, title: 'The upstream service could not be reached' },
  UPSTREAM_TIMEOUT: { status: 504, title: 'The upstream service did not answer in time' },
  INVALID_JSON: { status: 400, title: 'The request body is not valid JSON' },
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  PATH_NOT_CANONICAL: { status: 400, title: 'The request path is ambiguous: upstreams could read it differently' },
  BODY_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body must be application/json' },
  UNAUTHENTICATED: { status: 401, title: 'A valid admin key is required' },
  PERMISSION_DENIED: { status: 403, title: 'The admin key or signed-in user lacks the permission for this action' },
  RESOURCE_NOT_FOUND: { status: 404, title: 'No such resource' },
  CONFLICT: { status: 409, title: 'The request conflicts with the current state' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  TOKEN_INVALID: { status: 401, title: 'The access token is not valid', bearerError: 'invalid_token' },
  TOKEN_EXPIRED: { status: 401, title: 'The access token has expired', bearerError: 'invalid_token' },
  TOKEN_REVOKED: { status: 401, title: 'The access token has been revoked', bearerError: 'invalid_token' },
  TOKEN_WRONG_AUDIENCE: { status: 401, title: 'The access token is for another API', bearerError: 'invalid_token' },
  DPOP_REQUIRED: { status: 401, title: 'The access token is bound to a DPoP key and needs a DPoP proof', bearerError: 'invalid_token', scheme: 'DPoP' },
  DPOP_INVALID: { status: 401, title: 'The DPoP proof is not valid', bearerError: 'invalid_dpop_proof', scheme: 'DPoP' },
  ROLE_REQUIRED: { status: 403, title: 'The user lacks a role this route requires' },
  CREDENTIALS_OVER_HTTP: { status: 403, title: 'Credentials are accepted only over HTTPS' },
  HTTPS_REQUIRED: { status: 400, title: 'A plain HTTP request was sent to an HTTPS port' },
  CREDENTIALS_IN_QUERY: { status: 400, title: 'API keys are never accepted in the query string' },
  ADDRESS_NOT_ALLOWED: { status: 403, title: 'This is not served to your address' },
  CLIENT_CERTIFICATE_REQUIRED: { status: 401, title: 'A trusted client certificate is required' },
  AUTHORIZATION_DISABLED: { status: 503, title: 'The authorization server is off: no master key is configured' },
  ANALYTICS_DISABLED: { status: 503, title: 'Usage analytics are off (analytics.enabled is false)' },
  WEBHOOKS_DISABLED: { status: 503, title: 'Webhooks are off: no master key is configured to seal their secrets, or webhooks.enabled is false' },
  USAGE_QUERY_TOO_LARGE: {
    status: 400,
    title: 'The usage query would answer too many points: narrow the range, group by less or choose a coarser granularity',
  },
  USAGE_NOT_RETAINED: { status: 400, title: 'The usage asked for is older than its rollup is kept' },
  STORAGE_UNAVAILABLE: { status: 503, title: 'The store cannot accept changes right now; nothing was changed' },
  LIMITS_UNAVAILABLE: { status: 503, title: 'The limits for this request could not be counted right now; nothing was forwarded' },
  SIGNATURE_MISSING: { status: 401, title: 'The request must be signed' },
  SIGNATURE_INVALID: { status: 403, title: 'The signature does not verify under a trusted key' },
  // The web app's session (control/console/): signed out, ended or expired; a state change without the session's CSRF token or from another origin.
  SESSION_REQUIRED: { status: 401, title: 'Sign in first: there is no session, or it has ended' },
  CSRF_REJECTED: { status: 403, title: 'The request did not come from this site: CSRF token or origin missing or wrong' },
  SIGN_UP_CLOSED: { status: 403, title: 'Sign-up is not open: ask an operator for an invitation' },
  LIMIT_REACHED: { status: 409, title: 'A limit the operator set has been reached' },
  ROTATION_IN_PROGRESS: { status: 409, title: 'An earlier key of this lineage is still in its rotation grace period' },
  CONSOLE_UNAVAILABLE: { status: 503, title: 'The web app is not available here' },
  STARTING: { status: 503, title: 'Gatehouse is still starting: this is served once it has started' },
  INTERNAL: { status: 500, title: 'Internal error' },
};

/**
 * The detail of each verification denial, as the gateway answers it: one text per code, and a
 * code added to KEY_CODES or TOKEN_CODES without one here fails the typecheck.
 */
export const DENIAL_DETAILS: Readonly<Record<KeyDenialCode | TokenDenialCode, string>> = {
  MALFORMED: 'the credential is not a Gatehouse API key',
  NOT_FOUND: 'no such API key',
  DISABLED: 'this API key is disabled',
  EXPIRED: 'this API key has expired',
  REVOKED: 'this API key has been revoked',
  FORBIDDEN: 'this API key may not be used for this API, method, path, address, client certificate or origin',
  INSUFFICIENT_SCOPE: 'this API key lacks a scope the route requires',
  RATE_LIMITED: 'rate limit exceeded',
  QUOTA_EXCEEDED: 'quota exhausted for this period',
  TOKEN_INVALID: 'the access token is not one this API accepts (issuer, signature, type or claims)',
  TOKEN_EXPIRED: 'the access token has expired',
  TOKEN_REVOKED: 'the access token, or the grant it came from, has been revoked',
  TOKEN_WRONG_AUDIENCE: 'the access token was issued for another API',
  DPOP_REQUIRED: 'the access token is DPoP-bound: send it as Authorization: DPoP with a valid DPoP proof',
};

const PARENT = 'the API key this token was exchanged for (its parent key)';
/** The same denials for the parent key of an exchanged token (gateway/stages/parent-key.ts), naming it. */
export const PARENT_KEY_DENIAL_DETAILS: Readonly<Record<KeyDenialCode, string>> = {
  // Never seen: the parent is looked up by id, not by a secret that could be malformed.
  MALFORMED: `${PARENT} was refused: MALFORMED`,
  NOT_FOUND: `${PARENT} no longer exists`,
  DISABLED: `${PARENT} is disabled`,
  EXPIRED: `${PARENT} has expired (or its rotation grace period has ended)`,
  REVOKED: `${PARENT} has been revoked`,
  FORBIDDEN: `${PARENT} may not be used for this API, method, path, address or client certificate`,
  INSUFFICIENT_SCOPE: `${PARENT} lacks a scope the route requires`,
  RATE_LIMITED: `rate limit of ${PARENT} exceeded`,
  QUOTA_EXCEEDED: `quota of ${PARENT} exhausted for this period`,
};

/**
 * A key verdict that counts against the failure throttle: the 401s (not ours, unknown, disabled,
 * expired, revoked). The gateway and the verify endpoint count the same verdicts.
 */
export function isFailedKeyCheck(code: KeyCode): boolean {
  return code !== 'VALID' && PROBLEMS[code].status === 401;
}
