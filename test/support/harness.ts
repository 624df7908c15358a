import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import { ensureDevCertificate, type DevCertificate } from '../../src/tls/dev-ca.ts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { adminKeysService } from '../../src/control/services/admin-keys.ts';
import { ADMIN_PERMISSIONS } from '../../src/domain/permissions.ts';
import { startGatehouse, type Gatehouse } from '../../src/gatehouse.ts';
import type { RequestObserver } from '../../src/gateway/observer.ts';
import type { Resolve } from '../../src/control/webhooks/destination.ts';

/** A clock tests can move. */
export class TestClock {
  now: number;
  /** Follows the wall clock (plus what `advance` added): oidc-provider reads the real time itself. */
  readonly #wall: boolean;
  constructor(start = Date.UTC(2026, 10, 29, 12, 0, 0), wall = false) {
    this.now = wall ? 0 : start;
    this.#wall = wall;
  }
  static wall(): TestClock {
    return new TestClock(0, true);
  }
  advance(ms: number): void {
    this.now += ms;
  }
  readonly read = (): number => (this.#wall ? Date.now() + this.now : this.now);
}

export interface UpstreamRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface Harness {
  gh: Gatehouse;
  /** fetch that trusts the gateway's certificate (plain fetch when the gateway speaks HTTP). */
  fetch: typeof fetch;
  clock: TestClock;
  dir: string;
  upstream: { url: string; requests: UpstreamRequest[] };
  adminKey: string;
  admin(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; headers: Headers; body: any }>;
  close(): Promise<void>;
}

export const TEST_PEPPER = 'test-pepper-0123456789abcdefghijklmnopqrstuvwxyz';

/** One development CA and certificate per test process, for suites that run the gateway over HTTPS. */
let devCertificate: Promise<DevCertificate> | undefined;
export const HTTPS_GATEWAY = 'https';

/**
 * A real Gatehouse on a temporary SQLite file, a real upstream, ephemeral ports on loopback. With
 * `{ GATEHOUSE_TEST_GATEWAY: 'https' }` the gateway speaks HTTPS (a development CA made once per
 * process), refuses credentials over plain HTTP as in production, and `h.fetch` trusts its certificate.
 */
export async function startHarness(
  env: Record<string, string> = {},
  clock = new TestClock(),
  configYaml?: string,
  options: { observers?: RequestObserver[]; webhookResolve?: Resolve; logger?: pino.Logger } = {},
): Promise<Harness> {
  const { GATEHOUSE_TEST_GATEWAY: mode, ...rest } = env;
  env = rest;
  let tlsEnv: Record<string, string> = {};
  let httpsFetch: typeof fetch = fetch;
  if (mode === HTTPS_GATEWAY) {
    devCertificate ??= ensureDevCertificate(mkdtempSync(join(tmpdir(), 'gatehouse-test-ca-')));
    const cert = await devCertificate;
    tlsEnv = {
      GATEHOUSE_GATEWAY_TLS_CERT_FILE: cert.certFile,
      GATEHOUSE_GATEWAY_TLS_KEY_FILE: cert.keyFile,
      GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'refuse',
    };
    const dispatcher = new Agent({ connect: { ca: readFileSync(cert.caFile) } });
    httpsFetch = ((input: string | URL | Request, init?: RequestInit) =>
      undiciFetch(input as string, { ...(init as object), dispatcher })) as unknown as typeof fetch;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const requests: UpstreamRequest[] = [];
  const upstreamServer = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (req.url?.startsWith('/slow')) return void setTimeout(() => res.end('late'), 1500);
      const own = req.url?.includes('upstream-ratelimit') ? { ratelimit: '"upstream";r=999;t=1', 'ratelimit-policy': '"upstream";q=999;w=1' } : {};
      res.writeHead(200, { 'content-type': 'application/json', 'keep-alive': 'timeout=5', ...own });
      res.end(JSON.stringify({ path: req.url, method: req.method }));
    });
  });
  const upstreamUrl = await listen(upstreamServer);
  const file = configYaml === undefined ? undefined : join(dir, 'gatehouse.yaml');
  if (file) writeFileSync(file, configYaml!);
  let gh: Gatehouse;
  try {
    const config = loadConfig({
      file,
      env: {
        GATEHOUSE_PEPPER: TEST_PEPPER,
        GATEHOUSE_DATA_DIR: dir,
        GATEHOUSE_GATEWAY_PORT: '0',
        GATEHOUSE_CONTROL_PORT: '0',
        GATEHOUSE_USAGE_FLUSH_INTERVAL_SECONDS: '3600',
        // The gateway on the main thread, so tests can move its clock; test/gateway-workers.test.ts runs workers.
        GATEHOUSE_GATEWAY_WORKERS: '1',
        // Most suites talk plain HTTP on loopback; test/gateway-tls.test.ts runs the HTTPS-only default.
        GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'allow',
        ...tlsEnv,
        ...env,
      },
    });
    gh = await startGatehouse(config, { clock: clock.read, logger: pino({ level: 'silent' }), ...options });
  } catch (error) {
    // A refused configuration too: the upstream must not keep the test process alive.
    upstreamServer.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const { secret: adminKey } = await adminKeysService.create(gh.ctx, { actor: 'test', requestId: null }, 'test-admin', [...ADMIN_PERMISSIONS]);
  const admin: Harness['admin'] = async (method, path, body, key = adminKey) => {
    const res = await fetch(`${gh.controlUrl}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };
  return {
    gh,
    fetch: httpsFetch,
    clock,
    dir,
    upstream: { url: upstreamUrl, requests },
    adminKey,
    admin,
    async close() {
      // A close that rejects (a last flush failed) still leaves nothing behind.
      try {
        await gh.close();
      } finally {
        upstreamServer.closeAllConnections();
        await new Promise((r) => upstreamServer.close(r));
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * fetch from another loopback address (127.0.0.0/8 is all this machine's on Linux): how tests play a
 * second client, since the control plane believes only the socket's address.
 */
export function fetchFrom(localAddress: string): typeof fetch {
  const dispatcher = new Agent({ localAddress });
  return ((input: string | URL | Request, init?: RequestInit) => undiciFetch(input as string, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}

export function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** Publishes an API, an app and a key for it; returns their ids and the key's secret. */
export async function seed(h: Harness, keyBody: Record<string, unknown> = {}, apiBody: Record<string, unknown> = {}) {
  const api = await h.admin('POST', '/apis', { name: 'orders', listenPath: '/orders', upstreamUrl: h.upstream.url, ...apiBody });
  if (api.status !== 201) throw new Error(`seed api: ${JSON.stringify(api.body)}`);
  const app = await h.admin('POST', '/apps', { name: 'Acme integration', owner: 'acme@example.com' });
  const key = await h.admin('POST', '/keys', { appId: app.body.id, access: [{ apiId: api.body.id }], ...keyBody });
  if (key.status !== 201) throw new Error(`seed key: ${JSON.stringify(key.body)}`);
  return { apiId: api.body.id as string, appId: app.body.id as string, keyId: key.body.id as string, secret: key.body.secret as string };
}

export type Seeded = Awaited<ReturnType<typeof seed>>;

/** One more key of the seed's app for its API (`body` over that), as made by the admin API; it must be created. */
export async function anotherKey(h: Harness, ids: Seeded, body: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const key = await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }], ...body });
  if (key.status !== 201) throw new Error(`another key: ${JSON.stringify(key.body)}`);
  return { id: key.body.id as string, secret: key.body.secret as string };
}

/** A harness with the seed's API, app and key, as most suites start. */
export async function startSeeded(env: Record<string, string> = {}, keyBody: Record<string, unknown> = {}): Promise<{ h: Harness; ids: Seeded }> {
  const h = await startHarness(env);
  return { h, ids: await seed(h, keyBody) };
}

/** A request through the gateway. */
export async function call(h: Harness, path: string, init: { key?: string; header?: 'bearer' | 'x-api-key'; method?: string; body?: string } = {}) {
  const headers: Record<string, string> = {};
  if (init.key !== undefined) {
    if (init.header === 'x-api-key') headers['x-api-key'] = init.key;
    else headers.authorization = `Bearer ${init.key}`;
  }
  const res = await h.fetch(`${h.gh.gatewayUrl}${path}`, { method: init.method ?? 'GET', headers, ...(init.body ? { body: init.body } : {}) });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, body };
}

/** Asserts an RFC 9457 answer with our stable code and the request id. */
export function expectProblem(res: { status: number; headers: Headers; body: any }, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  assert.equal(res.body.code, code);
  assert.equal(res.body.status, status);
  assert.equal(res.body.requestId, res.headers.get('x-request-id'));
}
