import { importJWK, SignJWT, type CryptoKey, type KeyObject } from 'jose';
import { LazyLru } from '../domain/lazy-lru.ts';
import type { RoutedExchange } from './exchange.ts';

/** The JWT type of identity tokens: not `at+jwt`, so one can never be replayed to the gateway as an access token. */
export const IDENTITY_JWT_TYPE = 'gatehouse-identity+jwt';
const LIFETIME_SECONDS = 60;
/** Reused while at least half its lifetime is left: one signature per caller per 30 s, not per request. */
const REUSE_MS = (LIFETIME_SECONDS / 2) * 1000;

export interface SigningMaterial {
  kid: string;
  alg: string;
  privateJwk: Record<string, unknown>;
}

/**
 * Signs the identity JWT an API can ask for: who called (`sub`: the user, else the app), through which
 * app, key and client, with which scopes and roles; `aud` is the API, `iss` Gatehouse, 60 s of life.
 * The upstream verifies it against Gatehouse's JWKS.
 */
export class IdentityJwtSigner {
  readonly #issuer: string;
  readonly #material: () => Promise<SigningMaterial>;
  readonly #cache = new LazyLru<string, { token: string; reuseUntil: number }>({ max: 50_000 });
  #key: { kid: string; alg: string; key: CryptoKey | KeyObject | Uint8Array } | null = null;

  constructor(issuer: string, material: () => Promise<SigningMaterial>) {
    this.#issuer = issuer;
    this.#material = material;
  }

  /** Drops the signing key and the reused tokens (a key rotated). */
  reset(): void {
    this.#key = null;
    this.#cache.clear();
  }

  token(exchange: RoutedExchange): string | Promise<string> {
    const claims = identityClaims(exchange);
    const slot = JSON.stringify(claims);
    const cached = this.#cache.get(slot);
    if (cached && cached.reuseUntil > exchange.now) return cached.token;
    return this.#sign(claims, exchange.now).then((token) => {
      this.#cache.set(slot, { token, reuseUntil: exchange.now + REUSE_MS });
      return token;
    });
  }

  async #sign(claims: Record<string, unknown>, now: number): Promise<string> {
    if (!this.#key) {
      const m = await this.#material();
      this.#key = { kid: m.kid, alg: m.alg, key: await importJWK(m.privateJwk, m.alg) };
    }
    const iat = Math.floor(now / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: this.#key.alg, kid: this.#key.kid, typ: IDENTITY_JWT_TYPE })
      .setIssuer(this.#issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + LIFETIME_SECONDS)
      .setJti(crypto.randomUUID())
      .sign(this.#key.key);
  }
}

function identityClaims(exchange: RoutedExchange): Record<string, unknown> {
  const v = exchange.verification;
  const t = exchange.tokenVerification;
  const claims: Record<string, unknown> = { aud: exchange.route.api.tokens.audience };
  if (t) {
    claims.sub = t.claims.sub;
    if (typeof t.claims.client_id === 'string') claims.client_id = t.claims.client_id;
    claims.scope = [...t.scopes].join(' ');
    if (t.roles.size > 0) claims.roles = [...t.roles];
  }
  if (v) {
    claims.app_id = v.appId;
    claims.key_id = v.keyId;
    claims.sub ??= v.appId;
  }
  return claims;
}
