import type { Server, ServerOptions } from 'node:http';
import type { TlsOptions } from 'node:tls';

/**
 * What one client may take of a listener: a head of at most `maxHeaderBytes` (431 past it), sent
 * within `headersMs`, a whole request within `requestMs` (408 otherwise), an idle kept-alive connection
 * for `keepAliveMs`, and no more than `maxConnections` open at once (more are closed at accept). Every
 * public listener has them, so a client that trickles its request (slowloris) or opens connections
 * and sends nothing holds nothing for long.
 */
export interface ConnectionLimits {
  readonly maxHeaderBytes: number;
  readonly requestMs: number;
  readonly headersMs: number;
  readonly keepAliveMs: number;
  readonly maxConnections: number;
}

/** A listener's settings as the configuration holds them (gateway.*, control.*). */
export interface ListenerLimitSettings {
  readonly maxHeaderBytes: number;
  readonly requestTimeoutSeconds: number;
  readonly headersTimeoutSeconds: number;
  readonly keepAliveTimeoutSeconds: number;
  readonly maxConnections: number;
}

/** The defaults of `gateway.*` and `control.*` (config/schema.ts takes them from here), and of a server made without settings. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxHeaderBytes: 16_384,
  requestMs: 60_000,
  headersMs: 15_000,
  keepAliveMs: 5_000,
  maxConnections: 10_000,
};

export function connectionLimitsOf(settings: ListenerLimitSettings): ConnectionLimits {
  return {
    maxHeaderBytes: settings.maxHeaderBytes,
    // Node takes whole milliseconds only (2.01 s is 2009.9999999999998 ms in floating point).
    requestMs: Math.round(settings.requestTimeoutSeconds * 1000),
    headersMs: Math.round(settings.headersTimeoutSeconds * 1000),
    keepAliveMs: Math.round(settings.keepAliveTimeoutSeconds * 1000),
    maxConnections: settings.maxConnections,
  };
}

/** The limits as node:http (and node:https) server options; `maxConnections` is set on the server: capConnections. */
export function limitedServerOptions(limits: ConnectionLimits): ServerOptions & Pick<TlsOptions, 'handshakeTimeout'> {
  return {
    // Over HTTPS the head's timer starts only once the TLS handshake is over, which Node allows 120 s:
    // a client that connects and never says hello would hold the connection that long.
    handshakeTimeout: limits.headersMs,
    maxHeaderSize: limits.maxHeaderBytes,
    requestTimeout: limits.requestMs,
    headersTimeout: limits.headersMs,
    keepAliveTimeout: limits.keepAliveMs,
    // Node checks the request and header timeouts on this interval (30 s by default): a slow client
    // is cut off within a second of its deadline, not up to 30 s later.
    connectionsCheckingInterval: Math.min(1000, limits.headersMs),
  };
}

export function capConnections<S extends Server>(server: S, limits: ConnectionLimits): S {
  server.maxConnections = limits.maxConnections;
  return server;
}
