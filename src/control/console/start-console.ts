import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Config } from '../../config/load.ts';
import type { HealthReporter } from '../../telemetry/health.ts';
import type { ControlContext } from '../context.ts';
import { consoleAuthentication, type ConsoleAuthentication } from './authenticate.ts';
import { createBff } from './bff.ts';
import { ensureConsoleClient } from './console-client.ts';
import { ConsoleSessions } from './sessions.ts';
import { FailureThrottle } from '../../limits/failure-throttle.ts';
import { createPortalApi } from './portal-server.ts';
import { signupHandler } from './signup.ts';

const SWEEP = 'console-sessions';

export interface RunningConsole {
  sessions: ConsoleSessions;
  /** How the admin and portal APIs accept the session. */
  authentication: ConsoleAuthentication;
  /** /bff/*: sign-in, session, sign-out, sign-up. */
  bff: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** /portal/v1: the developer portal's API. */
  portal: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  close(): void;
}

/**
 * The web app's server side (docs/console.md): its OAuth client, sessions and the BFF endpoints. Needs
 * the authorization server (and so the master key); started once it runs, at the issuer's URL.
 */
export async function startConsole(o: {
  ctx: ControlContext;
  config: Readonly<Config>;
  issuer: string;
  /** The control plane's own URL, when it differs from the issuer's (an issuer behind a proxy): its origin is ours too. */
  controlUrl: string;
  /** The gateway's address developers call (the catalogue shows it). */
  gatewayUrl: string;
  health: HealthReporter;
  onError: (error: unknown) => void;
}): Promise<RunningConsole> {
  const masterKey = o.config.masterKey!;
  const origins = new Set([new URL(o.issuer).origin, new URL(o.controlUrl).origin]);
  const client = await ensureConsoleClient(o.ctx, masterKey, new URL('/bff/callback', o.issuer).href);
  const sessions = new ConsoleSessions(o.ctx, masterKey, {
    idleMs: o.config.console.idleTimeoutMinutes * 60_000,
    absoluteMs: o.config.console.absoluteTimeoutHours * 3_600_000,
  });
  // Sign-ups per address, as failed sign-ins are counted: each costs a password hash.
  const signupThrottle = FailureThrottle.perAddress(o.config.authorization.login.ipFailureLimit, o.config.authorization.login.ipWindowSeconds * 1000);
  const bff = createBff({
    ctx: o.ctx,
    sessions,
    masterKey,
    issuer: o.issuer,
    client,
    origins,
    onError: o.onError,
    signup: signupHandler({ ctx: o.ctx, origins, throttle: signupThrottle }),
  });
  const authentication = consoleAuthentication(sessions, origins);
  const portal = createPortalApi({
    ctx: o.ctx,
    authentication,
    gatewayUrl: o.gatewayUrl,
    maxBodyBytes: o.config.admin.maxBodyBytes,
    onInternalError: (error) => o.onError(error),
  });
  sessions.refresher = bff.refresh;
  // Ended sessions are refused when read; the sweep only keeps the table small.
  o.health.register(SWEEP, false);
  const sweep = setInterval(
    () =>
      void o.health.run(SWEEP, async () => {
        await sessions.sweep();
        signupThrottle.sweep(o.ctx.clock());
      }),
    300_000,
  );
  sweep.unref();
  return {
    sessions,
    authentication,
    bff: getRequestListener(bff.app.fetch),
    portal: getRequestListener(portal.fetch),
    close: () => clearInterval(sweep),
  };
}
