import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Config } from '../../config/load.ts';
import type { HealthReporter } from '../../telemetry/health.ts';
import type { ControlContext } from '../context.ts';
import { consoleAuthentication, type ConsoleAuthentication } from './authenticate.ts';
import { createBff } from './bff.ts';
import { ensureConsoleClient } from './console-client.ts';
import { ConsoleSessions } from './sessions.ts';

const SWEEP = 'console-sessions';

export interface RunningConsole {
  sessions: ConsoleSessions;
  /** How the admin and portal APIs accept the session. */
  authentication: ConsoleAuthentication;
  /** /bff/*: sign-in, session, sign-out, sign-up. */
  bff: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
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
  const bff = createBff({ ctx: o.ctx, sessions, masterKey, issuer: o.issuer, client, origins, onError: o.onError });
  sessions.refresher = bff.refresh;
  // Ended sessions are refused when read; the sweep only keeps the table small.
  o.health.register(SWEEP, false);
  const sweep = setInterval(() => void o.health.run(SWEEP, () => sessions.sweep()), 300_000);
  sweep.unref();
  return {
    sessions,
    authentication: consoleAuthentication(sessions, origins),
    bff: getRequestListener(bff.app.fetch),
    close: () => clearInterval(sweep),
  };
}
