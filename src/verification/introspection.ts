import { LazyLru } from '../domain/lazy-lru.ts';
import type { AccessTokenClaims } from '../domain/access-token-claims.ts';
import { fetchBounded } from './bounded-fetch.ts';

export interface IntrospectionConfig {
  issuer: string;
  url: string;
  clientId: string;
  clientSecret: string;
  /** How long an answer may be reused: never past the token's `exp`; an inactive answer for this long too. */
  cacheSeconds: number;
}

export type IntrospectionResult = { active: true; claims: AccessTokenClaims } | { active: false };

/**
 * Opaque access tokens are checked with their issuer's introspection endpoint (RFC 7662 §2), as a
 * client authenticated with HTTP Basic. Answers are cached by token, an active one never past its
 * `exp`, so a repeated token costs a lookup; concurrent checks of one token share one call.
 */
export class TokenIntrospector {
  readonly #c: IntrospectionConfig;
  readonly #clock: () => number;
  readonly #cache = new LazyLru<string, { result: IntrospectionResult; until: number }>({ max: 100_000 });
  readonly #pending = new Map<string, Promise<IntrospectionResult>>();
  readonly #authorization: string;

  constructor(config: IntrospectionConfig, clock: () => number) {
    this.#c = config;
    this.#clock = clock;
    // RFC 6749 §2.3.1: form-encode the id and secret before Basic.
    const pair = `${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`;
    this.#authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  }

  get issuer(): string {
    return this.#c.issuer;
  }

  introspect(token: string): IntrospectionResult | Promise<IntrospectionResult> {
    const now = this.#clock();
    const hit = this.#cache.get(token);
    if (hit && hit.until > now) return hit.result;
    let pending = this.#pending.get(token);
    if (!pending) {
      pending = this.#ask(token).finally(() => this.#pending.delete(token));
      this.#pending.set(token, pending);
    }
    return pending;
  }

  async #ask(token: string): Promise<IntrospectionResult> {
    let body: Record<string, unknown>;
    try {
      const res = await fetchBounded(this.#c.url, {
        method: 'POST',
        headers: { authorization: this.#authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      });
      if (res.status !== 200) return { active: false };
      body = (await res.json()) as Record<string, unknown>;
    } catch {
      // The issuer is unreachable: refuse (not cached), rather than let an unchecked token through.
      return { active: false };
    }
    const now = this.#clock();
    const exp = typeof body.exp === 'number' ? body.exp * 1000 : null;
    // RFC 7662 §2.2: nbf, and token_type. A server that ignores token_type_hint may answer for a
    // refresh token presented here, which is never an access token.
    const notYet = typeof body.nbf === 'number' && body.nbf * 1000 > now + NBF_LEEWAY_MS;
    const notAccess = typeof body.token_type === 'string' && /refresh/i.test(body.token_type);
    const active = body.active === true && typeof body.sub === 'string' && exp !== null && exp > now && !notYet && !notAccess;
    const result: IntrospectionResult = active
      ? { active: true, claims: { ...body, iss: typeof body.iss === 'string' ? body.iss : this.#c.issuer } as AccessTokenClaims }
      : { active: false };
    const until = Math.min(now + this.#c.cacheSeconds * 1000, active ? exp! : Infinity);
    this.#cache.set(token, { result, until });
    return result;
  }
}

/** Clocks differ: an nbf this little ahead of ours is taken as now. */
const NBF_LEEWAY_MS = 5_000;
