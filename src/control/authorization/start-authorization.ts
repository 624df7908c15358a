import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Config } from '../../config/load.ts';
import { DECOY_PASSWORD_HASH } from '../../domain/password-hash.ts';
import { createSecretBox } from '../../domain/secret-box.ts';
import type { Store } from '../../store/port.ts';
import type { HealthReporter } from '../../telemetry/health.ts';
import type { Tracing } from '../../telemetry/tracing.ts';
import { RevocationList } from '../../verification/revocation-list.ts';
import type { ControlContext, IdentityContext } from '../context.ts';
import { signingKeysService } from '../services/signing-keys.ts';
import { AuthorizationServer, deriveKey } from './authorization-server.ts';
import { ClientDirectory } from './client-directory.ts';
import { createInteractions } from './interactions.ts';
import { createOidcRecords } from './oidc-records.ts';
import type { TokenRequestObserver } from './token-metrics.ts';

const HOUSEKEEPING = 'authorization-housekeeping';

/** How long any token a signing key signed can stay valid: the longest access token (24 h), plus skew. */
export const MAX_TOKEN_LIFETIME_MS = 86_400_000 + 300_000;

export function identityContext(config: Readonly<Config>, store: Store): IdentityContext | null {
  if (!config.masterKey) return null;
  const a = config.authorization;
  return {
    signingKeyBox: createSecretBox(config.masterKey, 'signing-key'),
    totpBox: createSecretBox(config.masterKey, 'totp-secret'),
    oidcRecords: createOidcRecords(store.oidc, config.masterKey),
    mfaRequiredRoles: a.mfaRequiredRoles,
    signing: { alg: a.signingAlg, publishLeadMs: a.signingKeyPublishLeadSeconds * 1000, rotateEveryMs: a.signingKeyRotationDays * 86_400_000 },
    maxTokenLifetimeMs: MAX_TOKEN_LIFETIME_MS,
  };
}

export interface RunningAuthorization {
  server: AuthorizationServer;
  revocations: RevocationList;
  /** Serves the interaction pages. */
  interactions: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  close(): void;
}

/**
 * Starts the authorization server at `issuer`: a first signing key if there is none, the
 * revocation list, the provider, and the housekeeping timer (scheduled key rotation, expired records).
 */
export async function startAuthorization(
  ctx: ControlContext,
  config: Readonly<Config>,
  issuer: string,
  revocations: RevocationList,
  health: HealthReporter,
  onError: (error: unknown) => void,
  onTokenRequest: TokenRequestObserver | undefined,
  tracing: Tracing | null = null,
): Promise<RunningAuthorization> {
  const identity = ctx.identity!;
  const a = config.authorization;
  await signingKeysService.ensureCurrent(ctx);
  // Made now, so the first sign-in with an unknown name costs one scrypt like any other.
  await DECOY_PASSWORD_HASH;
  const directory = new ClientDirectory(ctx.store, ctx.changes);
  const server = new AuthorizationServer({
    ctx,
    identity,
    masterKey: config.masterKey!,
    directory,
    revocations,
    settings: {
      issuer,
      refreshTokenTtlSeconds: a.refreshTokenTtlSeconds,
      refreshTokenAbsoluteTtlSeconds: a.refreshTokenAbsoluteTtlSeconds,
      sessionTtlSeconds: a.sessionTtlSeconds,
      refreshReuseGraceSeconds: a.refreshTokenReuseGraceSeconds,
      behindProxy: false,
    },
    onError,
    onTokenRequest,
    tracing,
  });
  await server.reload();
  const unsubscribe = ctx.changes.subscribe((event) => {
    if (event.type === 'signing_keys.changed') void health.run(HOUSEKEEPING, () => server.reload());
  });
  const interactions = createInteractions({
    ctx,
    directory,
    provider: () => server.provider,
    csrfKey: deriveKey(config.masterKey!, 'gatehouse interaction csrf v1'),
    deviceKey: deriveKey(config.masterKey!, 'gatehouse device cookie v1'),
    origin: new URL(issuer).origin,
    throttle: {
      pair: { limit: a.login.accountAddressFailureLimit, windowMs: a.login.accountAddressWindowSeconds * 1000 },
      address: { limit: a.login.ipFailureLimit, windowMs: a.login.ipWindowSeconds * 1000 },
      account: { limit: a.login.accountFailureLimit, windowMs: a.login.accountWindowSeconds * 1000 },
      device: { limit: a.login.deviceFailureLimit, lifetimeMs: a.login.deviceCookieDays * 86_400_000 },
    },
    onError,
  });
  // Scheduled signing-key rotation and expired records; a failed round makes the node unready.
  health.register(HOUSEKEEPING, true);
  const housekeeping = setInterval(() => {
    void health.run(HOUSEKEEPING, async () => {
      await signingKeysService.ensureCurrent(ctx);
      // Made now, so the first sign-in with an unknown name costs one scrypt like any other.
      await DECOY_PASSWORD_HASH;
      await signingKeysService.prune(ctx);
      await server.reload();
      const now = ctx.clock();
      await ctx.store.oidc.deleteExpired(now);
      await ctx.store.revocations.deleteExpired(now);
      // Exchanged tokens are kept as long as the request log keeps what they did: an incident's impact report lists them.
      await ctx.store.exchangedTokens.deleteExpiredBefore(now - config.requestLog.retentionDays * 86_400_000, 10_000);
    });
  }, 60_000);
  housekeeping.unref();
  return {
    server,
    revocations,
    interactions: getRequestListener(interactions.fetch),
    close() {
      clearInterval(housekeeping);
      unsubscribe();
      server.close();
    },
  };
}
