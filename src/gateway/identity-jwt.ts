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
  /** The key the reused tokens were signed with. */
  #signedWith: string | null = null;
  /** After a signing-key change, the read that says whether the active key is still #signedWith. */
  #checking: Promise<void> | null = null;

  constructor(issuer: string, material: () => Promise<SigningMaterial>) {
    this.#issuer = issuer;
    this.#material = material;
  }

  /**
   * A signing-key change: the key is read again, and the reused tokens are dropped only if another key
   * is active now (one published ahead of its turn, or a key retired, changes nothing for them; an
   * emergency rotation does). Until that read answers, tokens wait for it rather than reuse one a
   * rotation may have made untrusted; a read that fails drops them all.
   */
  reset(): void {
    this.#key = null;
    const signedWith = this.#signedWith;
    const check = this.#material().then(
      (m) => {
        if (m.kid !== signedWith) this.#cache.clear();
      },
      () => this.#cache.clear(),
    );
    this.#checking = check;
    // Never rejects (both outcomes handled above); only the latest check is waited for.
    void check.then(() => {
      if (this.#checking === check) this.#checking = null;
    });
  }

  token(exchange: RoutedExchange): string | Promise<string> {
    if (this.#checking) return this.#checking.then(() => this.token(exchange));
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
    if (this.#key.kid !== this.#signedWith) {
      // Tokens of an earlier key are not reused beside this one's.
      this.#cache.clear();
      this.#signedWith = this.#key.kid;
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
