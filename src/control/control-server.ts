import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type ServerOptions as TlsServerOptions } from 'node:https';
import { isLoopback } from '../domain/ip-allowlist.ts';
import { capConnections, DEFAULT_CONNECTION_LIMITS, limitedServerOptions, type ConnectionLimits } from '../http/connection-limits.ts';
import { problem, writeProblem } from '../http/problem.ts';
import type { RunningAuthorization } from './authorization/start-authorization.ts';
import { SESSION_COOKIE } from './console/sessions.ts';
import type { StaticAssets } from './console/static-assets.ts';
import type { RunningConsole } from './console/start-console.ts';
import { STYLESHEET, STYLESHEET_PATH } from './authorization/views.ts';

/** A Node request listener; hono's adapter answers asynchronously. */
type Listener = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface ControlServerOptions {
  /** The admin API; null on a gateway node, whose control listener serves probes and metrics only. */
  admin: Listener | null;
  authorization: () => RunningAuthorization | null;
  /** Readiness: the store and background tasks, each with its last error. */
  health: () => { ready: boolean; components: Record<string, unknown>; engines?: Record<string, unknown> };
  tls?: TlsServerOptions | undefined;
  /** Head size, timeouts and open connections per client (control.*); default: DEFAULT_CONNECTION_LIMITS. */
  limits?: ConnectionLimits;
  /** Prometheus metrics at /metrics; null: not served. */
  metrics?: MetricsEndpoint | null;
  /** A listener that failed outside its own error handling. */
  onError?: (error: unknown) => void;
  /** Code hosts' secret-scanning reports under /secret-scanning/ (control/secret-scanning/), by path; absent: not served. */
  secretScanning?: Readonly<Record<string, Listener>>;
  /** The web app's server side (/bff/*), once the authorization server runs; null: not available (no master key). */
  console?: () => RunningConsole | null;
  /** The portal API (/portal/v1), once the console runs. */
  portal?: () => Listener | null;
  /** The web app's built files (/, /console/*, /developers/*, /assets/*). */
  assets?: StaticAssets;
  /**
   * A gateway node's ops listener: what only control nodes serve (the authorization server, its
   * sign-in pages, the web app) is answered as such, not as a missing master key.
   */
  gatewayNode?: boolean;
  /**
   * True until the node has started: the listener opens before the authorization server and the web
   * app run (the issuer defaults to its URL), and what they serve is answered 503 STARTING meanwhile,
   * not as a missing master key (readiness says not ready until then).
   */
  starting?: () => boolean;
}

/** A retry a second later finds the node started: starting takes about that long (docs/benchmarks.md, cold start). */
const answerStarting = (res: ServerResponse): void =>
  writeProblem(res, problem('STARTING', 'this node is still starting: retry in a second', null), { 'retry-after': '1' });

const ON_CONTROL_NODES = (what: string) => `this is a gateway node (node.role gateway): ${what} served by control nodes`;

export interface MetricsEndpoint {
  /** Whether a peer at this address may scrape: this machine always, others when configured (metrics.allowFrom). */
  allows(ip: string): boolean;
  contentType: string;
  scrape(): Promise<string>;
}

/**
 * One listener for the control plane: the admin API, the sign-in pages, the authorization server.
 * Without TLS it serves credentials (admin keys, client secrets, passwords) only to loopback peers:
 * bound to another address, it must have `control.tls`, or such requests are refused.
 */
export function createControlServer(o: ControlServerOptions): Server {
  const settle = (answer: void | Promise<void>): void => {
    if (answer) answer.catch((error: unknown) => o.onError?.(error));
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/';
    if (!o.tls && !isLoopback(req.socket.remoteAddress ?? '') && carriesSecrets(req)) {
      return writeProblem(
        res,
        problem('CREDENTIALS_OVER_HTTP', 'the control plane takes credentials only over HTTPS (control.tls) or from this machine', null),
      );
    }
    if (path.startsWith('/admin/')) {
      if (o.admin) return settle(o.admin(req, res));
      return writeProblem(res, problem('ROUTE_NOT_FOUND', ON_CONTROL_NODES('the admin API is'), null));
    }
    if (path.startsWith('/bff/') || path.startsWith('/portal/')) {
      if (o.gatewayNode) return writeProblem(res, problem('ROUTE_NOT_FOUND', ON_CONTROL_NODES('the web app is'), null));
      const running = path.startsWith('/bff/') ? (o.console?.()?.bff ?? null) : (o.portal?.() ?? null);
      if (running) return settle(running(req, res));
      if (o.starting?.()) return answerStarting(res);
      return writeProblem(
        res,
        problem('CONSOLE_UNAVAILABLE', 'the web app needs the authorization server: configure a master key (GATEHOUSE_MASTER_KEY_FILE)', null),
      );
    }
    if (path.startsWith('/secret-scanning/')) {
      const receiver = o.secretScanning?.[path.split('?')[0]!];
      if (receiver) return settle(receiver(req, res));
      return writeProblem(res, problem('ROUTE_NOT_FOUND', 'no secret-scanning receiver is configured here (secretScanning in the configuration)', null));
    }
    // Probes for orchestrators: no credentials, nothing secret in the answers.
    if (path === '/livez') return sendJson(res, 200, { status: 'live' });
    if (path === '/readyz') {
      const report = o.health();
      return sendJson(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', ...report });
    }
    if (o.metrics && (path === '/metrics' || path.startsWith('/metrics?'))) return settle(serveMetrics(req, res, o.metrics));
    if (path === STYLESHEET_PATH) {
      res.writeHead(200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=3600' });
      return void res.end(STYLESHEET);
    }
    if (o.assets?.handles(path.split('?')[0]!)) return o.assets.serve(req, res);
    const authorization = o.authorization();
    if (!authorization) {
      if (o.starting?.() && !o.gatewayNode) return answerStarting(res);
      const why = o.gatewayNode
        ? ON_CONTROL_NODES('the authorization server, its sign-in pages and the web app are')
        : 'nothing is served here: the authorization server is off (no master key)';
      return writeProblem(res, problem('ROUTE_NOT_FOUND', why, null));
    }
    if (path.startsWith('/interaction/')) return settle(authorization.interactions(req, res));
    authorization.server.handle(req, res);
  };
  const limits = o.limits ?? DEFAULT_CONNECTION_LIMITS;
  const options = limitedServerOptions(limits);
  return capConnections(o.tls ? createTlsServer({ ...options, ...o.tls }, handler) : createServer(options, handler), limits);
}

/**
 * The scrape: no credentials (it holds none: ids and counts, never a secret), from this machine or
 * the addresses allowed; anyone else gets 403, as from a listener that is not there for them.
 */
async function serveMetrics(req: IncomingMessage, res: ServerResponse, metrics: MetricsEndpoint): Promise<void> {
  if (!metrics.allows(req.socket.remoteAddress ?? '')) {
    return writeProblem(res, problem('ADDRESS_NOT_ALLOWED', 'metrics are served to this machine and the addresses in metrics.allowFrom', null));
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return writeProblem(res, problem('METHOD_NOT_ALLOWED', 'GET /metrics', null));
  }
  const text = await metrics.scrape();
  res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : text);
}

/** Anything that can carry a secret to the control plane: an Authorization header, the web app's session cookie, or a form or JSON body. */
function carriesSecrets(req: IncomingMessage): boolean {
  return (
    req.headers.authorization !== undefined ||
    (req.headers.cookie?.includes(SESSION_COOKIE) ?? false) ||
    (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS')
  );
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
