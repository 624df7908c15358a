import { compactVerify, type CompactVerifyGetKey } from 'jose';

/** Header parameters that let a token choose its own verification key (RFC 8725 §3.10): never honoured. */
const KEY_CHOOSING_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/;

export type JwsResult = { ok: true; header: Record<string, unknown>; payload: Uint8Array } | { ok: false; reason: string };

/**
 * Verifies a compact JWS signature with keys from a trusted source only: the algorithm must be one
 * of `algorithms` (pinned per issuer, RFC 8725 §3.1), so `none` in any spelling and an HMAC made
 * with a public key fail before any key is looked up; `b64: false` and key-choosing headers are refused.
 */
export async function verifyJws(token: string, keys: CompactVerifyGetKey, algorithms: readonly string[]): Promise<JwsResult> {
  if (token.length > 16_384 || !COMPACT.test(token)) return { ok: false, reason: 'not a compact JWS' };
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'the header is not JSON' };
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) return { ok: false, reason: 'the header is not an object' };
  const h = header as Record<string, unknown>;
  if (typeof h.alg !== 'string' || !algorithms.includes(h.alg)) return { ok: false, reason: 'algorithm not allowed for this issuer' };
  if (KEY_CHOOSING_HEADERS.some((name) => name in h)) return { ok: false, reason: 'the header names its own key' };
  if (h.b64 === false) return { ok: false, reason: 'unencoded payloads are not accepted' };
  try {
    const verified = await compactVerify(token, keys, { algorithms: [...algorithms] });
    return { ok: true, header: verified.protectedHeader as Record<string, unknown>, payload: verified.payload };
  } catch (error) {
    return { ok: false, reason: (error as { code?: string }).code ?? 'signature verification failed' };
  }
}
