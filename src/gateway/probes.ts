import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the gateway listener tells a probe: readiness and each component's state, never an error text. */
export interface Readiness {
  ready: boolean;
  components: Readonly<Record<string, { ok: boolean; critical: boolean }>>;
  /** Each engine's last probe (telemetry/engine-probes.ts): status and latency; the main thread's gateway only. */
  engines?: Readonly<Record<string, { status: string; latencyMs: number | null; checkedAt: string | null }>>;
}

/**
 * Orchestrators probe the listener that serves traffic, so it answers `/livez` and `/readyz` itself,
 * before routing and without credentials: exactly those paths (no query string, no trailing slash),
 * so `/livez/x` and `/readyz?x` are routed as usual. The gateway listener faces clients, so its
 * `/readyz` names the components and whether each is ok, without the error texts the control
 * listener's `/readyz` adds.
 */
export function isProbePath(url: string | undefined): boolean {
  return url === '/livez' || url === '/readyz';
}

export function answerProbe(req: IncomingMessage, res: ServerResponse, readiness: Readiness): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-length': '0', 'cache-control': 'no-store' });
    return void res.end();
  }
  const live = req.url === '/livez';
  const status = live || readiness.ready ? 200 : 503;
  const components: Record<string, { ok: boolean; critical: boolean }> = {};
  if (!live) for (const [name, c] of Object.entries(readiness.components)) components[name] = { ok: c.ok, critical: c.critical };
  // Engines by status and latency only: the error texts stay on the control listener's /readyz.
  const engines: Record<string, { status: string; latencyMs: number | null; checkedAt: string | null }> = {};
  for (const [name, e] of Object.entries(readiness.engines ?? {})) engines[name] = { status: e.status, latencyMs: e.latencyMs, checkedAt: e.checkedAt };
  const body = JSON.stringify(
    live
      ? { status: 'live' }
      : { status: readiness.ready ? 'ready' : 'not ready', ready: readiness.ready, components, ...(readiness.engines ? { engines } : {}) },
  );
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
