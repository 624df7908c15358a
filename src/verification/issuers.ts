import { createLocalJWKSet, createRemoteJWKSet, customFetch, type CompactVerifyGetKey, type JSONWebKeySet } from 'jose';
import { keySchedule } from '../domain/signing-key-schedule.ts';
import type { ChangeBus } from '../events/change-bus.ts';
import type { HealthReporter } from '../telemetry/health.ts';
import type { SigningKeyRepo } from './signing-key-source.ts';
import { fetchBounded, fetchJson } from './bounded-fetch.ts';
import { retriedTask } from '../telemetry/retried-task.ts';

/** An issuer whose access tokens the gateway accepts, with its rules pinned. */
export interface TrustedIssuer {
  issuer: string;
  algorithms: readonly string[];
  keys: CompactVerifyGetKey;
  clockSkewSeconds: number;
  /** Required `typ`; null to accept any (issuers that do not follow RFC 9068). */
  typ: string | null;
  /** The audience its tokens must carry; null: the API's own audience. */
  audience: string | null;
}

export interface ExternalIssuerConfig {
  issuer: string;
  discoveryUrl?: string | undefined;
  jwksUrl?: string | undefined;
  algorithms: string[];
  audience?: string | undefined;
  clockSkewSeconds: number;
  typ: string | null;
  jwksCooldownSeconds: number;
}

/** An issuer known only for opaque tokens: no JWT from it is accepted. */
const NO_KEYS: CompactVerifyGetKey = async () => {
  throw new Error('this issuer is configured for introspection only');
};

/**
 * An external issuer (Keycloak, Auth0, Entra ID...): its JWKS URL from the configuration or from its
 * discovery document, fetched only from there, with a timeout and size limit, cached, and refetched
 * for an unknown `kid` at most once per cooldown.
 */
export async function externalIssuer(config: ExternalIssuerConfig): Promise<TrustedIssuer> {
  let jwksUrl = config.jwksUrl;
  if (!jwksUrl && !config.discoveryUrl) {
    return {
      issuer: config.issuer,
      algorithms: config.algorithms,
      keys: NO_KEYS,
      clockSkewSeconds: config.clockSkewSeconds,
      typ: config.typ,
      audience: config.audience ?? null,
    };
  }
  if (!jwksUrl) {
    const discovered = (await fetchJson(config.discoveryUrl!)) as { issuer?: unknown; jwks_uri?: unknown };
    // OIDC Discovery §4.3: the document must name the issuer it was fetched for.
    if (discovered.issuer !== config.issuer)
      throw new Error(`the discovery document at ${config.discoveryUrl} is for ${String(discovered.issuer)}, not ${config.issuer}`);
    if (typeof discovered.jwks_uri !== 'string') throw new Error(`the discovery document at ${config.discoveryUrl} has no jwks_uri`);
    jwksUrl = discovered.jwks_uri;
  }
  const keys = createRemoteJWKSet(new URL(jwksUrl), {
    timeoutDuration: 5000,
    cooldownDuration: config.jwksCooldownSeconds * 1000,
    cacheMaxAge: 10 * 60_000,
    [customFetch]: (url, options) => fetchBounded(url, options),
  });
  return {
    issuer: config.issuer,
    algorithms: config.algorithms,
    keys,
    clockSkewSeconds: config.clockSkewSeconds,
    typ: config.typ,
    audience: config.audience ?? null,
  };
}

/** The gateway's copy of our own published signing keys. */
const SIGNING_KEYS = 'signing-keys';
/** A failed reread of the signing keys is tried again this often until one succeeds. */
const SIGNING_KEYS_RETRY_MS = 2000;

/**
 * Gatehouse's own issuer: the published signing keys, read from the store and kept current through
 * change events; an unknown `kid` rereads the store at most once per cooldown (another node rotated).
 */
export function ownIssuer(
  issuer: string,
  repo: SigningKeyRepo,
  changes: ChangeBus,
  clock: () => number,
  health: HealthReporter,
): TrustedIssuer & { refresh(): Promise<void> } {
  let local: CompactVerifyGetKey = createLocalJWKSet({ keys: [] });
  let lastRead = 0;
  const refresh = async () => {
    lastRead = clock();
    const published = keySchedule(await repo.all(), clock()).published;
    local = createLocalJWKSet({ keys: published.map((k) => k.publicJwk) } as JSONWebKeySet);
  };
  // A warning, not a reason to be unready: the keys read before still verify, and an unknown kid
  // rereads the store on demand. Nothing else retries it, so a critical failure would last until the
  // next rotation.
  health.register(SIGNING_KEYS, false);
  // A failed reread is tried again until one succeeds: a key unpublished by the change (an immediate
  // rotation after a compromise) would otherwise keep verifying here, with no other change to come.
  const reread = retriedTask(health, SIGNING_KEYS, refresh, SIGNING_KEYS_RETRY_MS);
  changes.subscribe((event) => {
    if (event.type === 'signing_keys.changed') reread.run();
  });
  const keys: CompactVerifyGetKey = async (header, token) => {
    try {
      return await local(header, token);
    } catch (error) {
      if (clock() - lastRead < 30_000) throw error;
      await refresh();
      return local(header, token);
    }
  };
  return { issuer, algorithms: ['ES256', 'RS256', 'EdDSA'], keys, clockSkewSeconds: 30, typ: 'at+jwt', audience: null, refresh };
}
