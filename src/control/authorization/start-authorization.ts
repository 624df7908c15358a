import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Config } from '../../config/load.ts';
import { DECOY_PASSWORD_HASH } from '../../domain/password-hash.ts';
import type { HealthReporter } from '../../telemetry/health.ts';
import { PeriodicTask } from '../../telemetry/periodic-task.ts';
import type { Tracing } from '../../telemetry/tracing.ts';
import { RevocationList } from '../../verification/revocation-list.ts';
import type { ControlContext } from '../context.ts';
import { signingKeysService } from '../services/signing-keys.ts';
import { AuthorizationServer, deriveKey } from './authorization-server.ts';
import { ClientDirectory } from './client-directory.ts';
import { createInteractions } from './interactions.ts';
import { PendingRevocations } from './oidc-adapter.ts';
import { RevocationJournal } from './revocation-journal.ts';
import type { TokenRequestObserver } from './token-metrics.ts';
import { memoryThrottles } from '../../limits/failure-throttle.ts';
import type { ThrottleFactory } from '../../limits/port.ts';

const HOUSEKEEPING = 'authorization-housekeeping';
const PENDING_REVOCATIONS = 'grant-revocations-pending';
const PENDING_REVOCATIONS_RETRY_MS = 5000;
const PENDING_GIVE_BACKS = 'token-give-backs-pending';
/** Well inside the Retry-After of the 503 the failed request was answered (5 s), so a retry at another node most likely finds it done. */
const PENDING_GIVE_BACKS_RETRY_MS = 1000;

export { identityContext, MAX_TOKEN_LIFETIME_MS } from './identity-context.ts';

export interface RunningAuthorization {
  server: AuthorizationServer;
  revocations: RevocationList;
  /** One round of the retry of grant revocations the store failed, now (reported to health as its timer's are). */
  retryRevocations(): Promise<void>;
  /** One round of the completion of give-backs the store failed, now (reported to health as its timer's are). */
  retryGiveBacks(): Promise<void>;
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
  /** Where sign-in failures are counted: in memory, or in Redis for every node (gatehouse.ts). */
  throttles: ThrottleFactory = memoryThrottles(),
): Promise<RunningAuthorization> {
  const identity = ctx.identity!;
  const a = config.authorization;
  await signingKeysService.ensureCurrent(ctx);
  // Made now, so the first sign-in with an unknown name costs one scrypt like any other.
  await DECOY_PASSWORD_HASH;
  const directory = new ClientDirectory(ctx.store, ctx.changes);
  // Grant revocations the store failed before a restart (a reuse seen while it was away, RFC 9700
  // §4.14.2): pending again, and retried at once below. Journaled on this node's disk, not in the store.
  const pendingRevocations = new PendingRevocations(new RevocationJournal(config.dataDir));
  await pendingRevocations.restore((file, error) =>
    onError(new Error(`a pending grant revocation's journal file could not be read, left as it is: ${file}`, { cause: error })),
  );
  // Wrong device codes count per address like wrong passwords do (RFC 8628 §5.1), with the same limit.
  const userCodeThrottle = throttles({
    name: 'device-code-address',
    limit: a.login.ipFailureLimit,
    windowMs: a.login.ipWindowSeconds * 1000,
    perAddress: true,
  });
  const server = new AuthorizationServer({
    userCodeThrottle,
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
    pendingRevocations,
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
    throttles,
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
      userCodeThrottle.sweep(now);
      await ctx.store.oidc.deleteExpired(now);
      await ctx.store.revocations.deleteExpired(now);
      // Exchanged tokens are kept as long as the request log keeps what they did: an incident's impact report lists them.
      await ctx.store.exchangedTokens.deleteExpiredBefore(now - config.requestLog.retentionDays * 86_400_000, 10_000);
    });
  }, 60_000);
  housekeeping.unref();
  // Grant revocations the store failed (a reuse seen while it was away): retried until they hold, and
  // reported (a warning: the store's own component says whether the node can serve).
  // Also at start: ones journaled before a restart are retried without waiting for the first interval.
  const revocationRetries = new PeriodicTask({
    component: PENDING_REVOCATIONS,
    critical: false,
    health,
    intervalMs: PENDING_REVOCATIONS_RETRY_MS,
    atStart: true,
    run: () => server.retryRevocations(),
  });
  revocationRetries.start();
  // Give-backs of failed token requests the store failed too: completed once it is back, before the
  // client's retry, so that retry is not judged a reuse (RFC 9700 §4.14.2). A warning, as above.
  const giveBackRetries = new PeriodicTask({
    component: PENDING_GIVE_BACKS,
    critical: false,
    health,
    intervalMs: PENDING_GIVE_BACKS_RETRY_MS,
    run: () => server.retryGiveBacks(),
  });
  giveBackRetries.start();
  return {
    server,
    revocations,
    retryRevocations: () => health.run(PENDING_REVOCATIONS, () => server.retryRevocations()),
    retryGiveBacks: () => health.run(PENDING_GIVE_BACKS, () => server.retryGiveBacks()),
    interactions: getRequestListener(interactions.fetch),
    close() {
      clearInterval(housekeeping);
      void revocationRetries.stop();
      pendingRevocations.close();
      void giveBackRetries.stop();
      unsubscribe();
      server.close();
    },
  };
}
