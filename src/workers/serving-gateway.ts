import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pino from 'pino';
import type { Config } from '../config/load.ts';
import type { DataPlane } from '../data-plane.ts';
import { handOver } from '../gateway/hand-over.ts';
import { closeServer, drainConnections, listen } from '../http/listening.ts';
import type { HealthReporter } from '../telemetry/health.ts';
import type { GatehouseMetrics } from '../telemetry/metrics.ts';
import { reloadOnChange } from '../tls/server-tls.ts';
import type { GatewayWorkers } from './gateway-workers.ts';

type MetricsJson = Awaited<ReturnType<GatehouseMetrics['registry']['getMetricsAsJSON']>>;

/** The gateway as startGatehouse drives it: on the main thread, or on worker threads (the main thread serving until they do). */
export interface ServingGateway {
  /** Starts serving; answers the URL it listens at. */
  listen(scheme: 'http' | 'https'): Promise<string>;
  /** The port it listens on, once it does. */
  port(): number | null;
  /** Outcome counts by code (the main thread's gateway only; workers count in their metrics). */
  outcomes: Map<string, number>;
  trustOwnIssuer(issuer: string): void;
  /**
   * Resolves once no request has arrived on this thread for `quietMs`, or after `maxMs`, so work
   * that holds the event loop (importing the control plane) starts between requests.
   */
  quiet(quietMs: number, maxMs: number): Promise<void>;
  /** Resolves once the gateway serves from every thread it will (the workers are up); rejects if one could not start. */
  allServing(): Promise<void>;
  /** Workers: their metrics summed with the main thread's (as JSON); absent on the main thread. */
  scrape?: (own: MetricsJson) => Promise<string>;
  close(): Promise<void>;
}

interface MainThreadGateway extends ServingGateway {
  /** Stops listening without cutting a request in flight: the port's other listeners serve on. */
  handOver(): Promise<void>;
}

/**
 * The data plane on this thread, its TLS files' reloads reported to `health`. `sharesPort`: it listens
 * with SO_REUSEPORT and can hand the port over to the gateway workers (gateway/hand-over.ts).
 */
export function mainThreadGateway(config: Readonly<Config>, log: pino.Logger, health: HealthReporter, plane: DataPlane, sharesPort = false): MainThreadGateway {
  const { gateway } = plane;
  const stopWatching = config.gateway.tls ? reloadOnChange(gateway as never, config.gateway.tls, { settings: 'gateway.tls', health, log }) : null;
  // Kept: after a hand-over the workers serve on it, and this server has no address any more.
  let port: number | null = null;
  let ended: Promise<void> | null = null;
  // Either way plane.stop first makes every answer end its connection (closeAfterAnswers).
  const end = async (handingOver: boolean): Promise<void> => {
    stopWatching?.();
    await plane.stop(() => (handingOver && sharesPort ? handOver(gateway) : closeServer(gateway, config.gateway.shutdownGraceSeconds * 1000)));
  };
  return {
    listen: async (scheme) => {
      const url = await listen(gateway, config.gateway.host, config.gateway.port, scheme, sharesPort);
      port = (gateway.address() as AddressInfo).port;
      return url;
    },
    port: () => port,
    outcomes: plane.outcomes,
    quiet: (quietMs, maxMs) => untilQuiet(gateway, quietMs, maxMs),
    allServing: () => Promise.resolve(),
    // The data plane reads our issuer through the getters startGatehouse gave it.
    trustOwnIssuer: () => {},
    handOver: () => (ended ??= end(true)),
    close: async () => {
      if (ended === null) return (ended = end(false));
      // A stop during the hand-over: its last connections get the stop's grace, as any stop's do.
      const stopDraining = drainConnections(gateway, config.gateway.shutdownGraceSeconds * 1000);
      try {
        await ended;
      } finally {
        stopDraining();
      }
    },
  };
}

/**
 * gateway.workers > 1: the main thread serves from the start (its modules are loaded; a worker loads
 * its own, which takes longer than the main thread's whole start: issue 14, cold start) while the
 * workers start on the same port; once all of them listen, it hands the port over to them.
 */
export function workersGateway(main: MainThreadGateway, workers: GatewayWorkers, log: pino.Logger): ServingGateway {
  let serving: Promise<void> | null = null;
  return {
    listen: async (scheme) => {
      const url = await main.listen(scheme);
      serving = workers.start(main.port()!).then(() => {
        // Its last connections end in their own time (a streamed answer may take long); a shutdown waits for them.
        main.handOver().catch((error: unknown) => log.error({ err: error }, "closing the main thread's gateway failed"));
      });
      // Reported here as it happens; startGatehouse's allServing() rejects with it too.
      serving.catch((error: unknown) => log.error({ err: error }, 'the gateway workers did not start'));
      return url;
    },
    port: () => main.port(),
    outcomes: main.outcomes,
    quiet: (quietMs, maxMs) => main.quiet(quietMs, maxMs),
    allServing: () => serving ?? Promise.reject(new Error('the gateway is not listening')),
    trustOwnIssuer: (issuer) => workers.trustOwnIssuer(issuer),
    scrape: (own) => workers.scrape(own),
    close: async () => {
      await Promise.all([main.close(), workers.stop()]);
    },
  };
}

/** Counts arrivals with a listener of its own, removed once quiet (so requests after start pay nothing for it). */
async function untilQuiet(server: Server, quietMs: number, maxMs: number): Promise<void> {
  let arrived = 0;
  const count = () => void arrived++;
  server.on('request', count);
  try {
    const until = performance.now() + maxMs;
    for (let seen = -1; seen !== arrived && performance.now() < until;) {
      seen = arrived;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
    }
  } finally {
    server.off('request', count);
  }
}
