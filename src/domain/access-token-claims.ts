/**
 * The claim checks for a JWT access token whose signature has been verified (RFC 9068 §4,
 * RFC 8725 §3.8-3.11, RFC 7519 §4.1). Pure: the caller passes the time and the issuer's rules.
 */
/** Signing algorithms the gateway can ever accept: asymmetric only (RFC 8725 §3.2). */
export const ASYMMETRIC_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519'] as const;

export interface IssuerRules {
  issuer: string;
  /** The audience the token must name (RFC 8707: the API's resource indicator). */
  audience: string;
  clockSkewSeconds: number;
  /** Required `typ` header, case-insensitive, `application/` prefix optional; null: not checked. */
  typ: string | null;
}

export type ClaimsCode = 'VALID' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'TOKEN_WRONG_AUDIENCE';
/** The claims when they pass; only the reason when they do not. */
export type ClaimsCheck = { code: 'VALID'; claims: AccessTokenClaims } | { code: Exclude<ClaimsCode, 'VALID'> };

export interface AccessTokenClaims {
  iss: string;
  sub: string;
  exp: number;
  aud: string | string[];
  jti?: string;
  client_id?: string;
  scope?: string;
  roles?: string[];
  gid?: string;
  [claim: string]: unknown;
}

export function checkClaims(header: { typ?: unknown }, payload: unknown, rules: IssuerRules, nowSeconds: number): ClaimsCheck {
  if (rules.typ !== null && normalizeTyp(header.typ) !== normalizeTyp(rules.typ)) return { code: 'TOKEN_INVALID' };
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return { code: 'TOKEN_INVALID' };
  const c = payload as Record<string, unknown>;
  if (c.iss !== rules.issuer) return { code: 'TOKEN_INVALID' };
  if (typeof c.sub !== 'string' || c.sub.length === 0) return { code: 'TOKEN_INVALID' };
  // RFC 9068 §4: exp is required; a token without one would live for ever.
  if (typeof c.exp !== 'number' || !Number.isFinite(c.exp)) return { code: 'TOKEN_INVALID' };
  if (c.exp + rules.clockSkewSeconds <= nowSeconds) return { code: 'TOKEN_EXPIRED' };
  if (c.nbf !== undefined && (typeof c.nbf !== 'number' || c.nbf - rules.clockSkewSeconds > nowSeconds)) return { code: 'TOKEN_INVALID' };
  if (c.iat !== undefined && (typeof c.iat !== 'number' || c.iat - rules.clockSkewSeconds > nowSeconds)) return { code: 'TOKEN_INVALID' };
  const aud = typeof c.aud === 'string' ? [c.aud] : Array.isArray(c.aud) ? c.aud : [];
  if (!aud.includes(rules.audience)) return { code: 'TOKEN_WRONG_AUDIENCE' };
  // An ID token is for the client, not for an API (RFC 9068 §4 and OIDC Core §2): refuse one offered as an access token.
  if (c.nonce !== undefined || c.at_hash !== undefined || c.c_hash !== undefined) return { code: 'TOKEN_INVALID' };
  if (c.scope !== undefined && typeof c.scope !== 'string') return { code: 'TOKEN_INVALID' };
  if (c.roles !== undefined && !(Array.isArray(c.roles) && c.roles.every((r) => typeof r === 'string'))) return { code: 'TOKEN_INVALID' };
  return { code: 'VALID', claims: c as AccessTokenClaims };
}

/** RFC 7515 §4.1.9: `at+jwt` and `application/at+jwt` are the same type. */
function normalizeTyp(typ: unknown): string | null {
  if (typeof typ !== 'string') return null;
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice(12) : lower;
}
