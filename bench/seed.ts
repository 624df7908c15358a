/**
 * A real Gatehouse for the benchmarks: a config from loadConfig (temporary data dir, random pepper
 * and master key, ephemeral ports, silent logs), startGatehouse, then one API (listen path /bench,
 * pointing at `upstream`), one app and one key, created through the admin API. The key has a rate
 * limit and a daily quota far above anything the benchmarks send, so key auth, the limiter and usage
 * counting are all on the request path while nothing is refused. For the bearer scenarios the API asks
 * for a token (and the key too, for apiKey+bearer) and a client-credentials client gets an ES256 access
 * token from Gatehouse's own authorization server; `bearer-nocache` turns the verified-token cache off.
 * `public`: a route that needs no credential (the key is still sent, as to the plain proxies).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/load.ts';
import { adminKeysService } from '../src/control/services/admin-keys.ts';
import { keysService } from '../src/control/services/keys.ts';
import { keyCreateSchema } from '../src/domain/inputs/resources.ts';
import { ADMIN_PERMISSIONS } from '../src/domain/permissions.ts';
import { startGatehouse, type Gatehouse } from '../src/gatehouse.ts';
import { bulkApis, bulkKeysApart } from './lib/bulk-store.ts';

export interface SeededGatehouse {
  gh: Gatehouse;
  apiId: string;
  /** The API's listen path. */
  path: string;
  /** The API key's secret. */
  secret: string;
  /** What each benchmark request sends. */
  headers: Record<string, string>;
  /**
   * With `keys` > 1: the other keys' secrets, one per line (mode 0600), which the load generators take
   * in turn after `headers` (bench/lib/load.ts loadOf). In a file, so this process does not hold them.
   */
  hotSecretsFile: string | null;
  close(): Promise<void>;
}

export type Scenario = 'public' | 'apiKey' | 'bearer' | 'bearer-nocache' | 'apiKey+bearer';

export interface SeedOptions {
  /** false: Prometheus metrics off (no metrics observer). */
  metrics?: boolean;
  /** false: metrics, the request log and usage analytics all off: no request observer at all. */
  observability?: boolean;
  /** API keys to create (apiKey scenario): each request takes the next, so all of them are active. */
  keys?: number;
  /**
   * Keys in the store in all (at least `keys`): the rest are never presented (a store of a million keys,
   * of which `keys` are hot). Written straight into the table (bench/lib/bulk-store.ts).
   */
  storedKeys?: number;
  /** APIs in the route table in all (1: only the benchmark's): the others listen on paths of their own. */
  routes?: number;
  /**
   * Configuration over the defaults, as the YAML file would hold it (`{ gateway: { workers: 2 } }`):
   * written to a file in the data dir and loaded as the config file, under the GATEHOUSE_* variables below.
   */
  config?: Record<string, unknown>;
}

export async function startSeededGatehouse(upstream: string, scenario: Scenario = 'apiKey', options: SeedOptions = {}): Promise<SeededGatehouse> {
  const observability = options.observability !== false;
  const keyCount = options.keys ?? 1;
  if (keyCount > 1 && scenario !== 'apiKey') throw new Error('--keys needs the apiKey scenario');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const file = join(dir, 'overrides.yaml');
  // One gateway thread unless the overrides ask for workers (the product's default is one per core).
  const gateway = { workers: 1, ...((options.config?.gateway as Record<string, unknown> | undefined) ?? {}) };
  // JSON is YAML.
  writeFileSync(file, JSON.stringify({ ...options.config, gateway }), { mode: 0o600 });
  const pepper = randomBytes(32).toString('hex');
  const config = loadConfig({
    file,
    env: {
      GATEHOUSE_PEPPER: pepper,
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_GATEWAY_PORT: '0',
      GATEHOUSE_CONTROL_PORT: '0',
      GATEHOUSE_LOG_LEVEL: 'silent',
      // Measured against a plain-HTTP bare proxy, so plain HTTP here too (TLS would dominate both).
      GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'allow',
      GATEHOUSE_MASTER_KEY: randomBytes(32).toString('hex'),
      GATEHOUSE_TOKENS_CACHE_ENTRIES: scenario === 'bearer-nocache' ? '0' : '100000',
      // Prometheus metrics (on by default, as in production); off: no request observer at all.
      ...(options.config?.metrics === undefined ? { GATEHOUSE_METRICS_ENABLED: options.metrics === false || !observability ? 'false' : 'true' } : {}),
      // Tracing is measured by running the benchmark with OTEL_TRACES_EXPORTER=otlp and a collector's endpoint.
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('OTEL_'))),
      // GATEHOUSE_REQUEST_LOG_ENABLED=false in the benchmark's environment (or `requestLog` in the
      // overrides): the request log off, to compare; the same for analytics.
      ...(options.config?.requestLog === undefined
        ? { GATEHOUSE_REQUEST_LOG_ENABLED: observability ? (process.env.GATEHOUSE_REQUEST_LOG_ENABLED ?? 'true') : 'false' }
        : {}),
      ...(options.config?.analytics === undefined
        ? { GATEHOUSE_ANALYTICS_ENABLED: observability ? (process.env.GATEHOUSE_ANALYTICS_ENABLED ?? 'true') : 'false' }
        : {}),
    },
  });
  const gh = await startGatehouse(config, { logger: pino({ level: 'silent' }) });
  const { secret: adminKey } = await adminKeysService.create(gh.ctx, { actor: 'bench', requestId: null }, 'bench-admin', [...ADMIN_PERMISSIONS]);

  const admin = async (path: string, body: unknown): Promise<any> => {
    const res = await fetch(`${gh.controlUrl}/admin/v1${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = await res.json();
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const authType = scenario === 'public' || scenario === 'apiKey' || scenario === 'apiKey+bearer' ? scenario : 'bearer';
  const api = await admin('/apis', {
    name: 'bench',
    listenPath: '/bench',
    upstreamUrl: upstream,
    auth: { type: authType, scopes: authType === 'apiKey' || authType === 'public' ? [] : ['bench:read'] },
    tokens: { accessTokenTtlSeconds: 86_400 },
  });
  const app = await admin('/apps', { name: 'Benchmark', owner: 'bench@example.com' });
  const keyInput = {
    appId: app.id,
    access: [{ apiId: api.id }],
    rateLimits: [{ name: 'per-second', limit: 1_000_000_000, windowSeconds: 1 }],
    quota: { limit: 1_000_000_000_000, period: 'day' },
  };
  const key = await admin('/keys', keyInput);
  // The public route gets the key too (ignored there), as the plain proxies do: every target parses the same request.
  const headers: Record<string, string> =
    authType === 'apiKey' || authType === 'public'
      ? { authorization: `Bearer ${key.secret}` }
      : { authorization: `Bearer ${await accessToken(admin, gh, api.id)}` };
  if (authType === 'apiKey+bearer') headers['x-api-key'] = key.secret;
  const storedKeys = Math.max(options.storedKeys ?? keyCount, keyCount);
  const hotSecretsFile = keyCount > 1 ? join(dir, 'hot-secrets') : null;
  if (storedKeys > 1000) {
    // Straight into the table, by a process of its own: a million keys through the service (an audit
    // entry each) would take hours, and in this one they would count as Gatehouse's memory.
    bulkKeysApart(config.storePath, key.id, pepper, storedKeys - 1, keyCount - 1, hotSecretsFile ?? join(dir, 'no-secrets'));
  } else if (hotSecretsFile !== null) {
    // The rest through the service (the admin API's own code, without 10k HTTP round trips).
    const secrets: string[] = [];
    for (let i = 1; i < keyCount; i++) {
      const { secret } = await keysService.create(gh.ctx, { actor: 'bench', requestId: null }, keyCreateSchema.parse(keyInput));
      secrets.push(`${secret}\n`);
    }
    writeFileSync(hotSecretsFile, secrets.join(''), { mode: 0o600 });
  }
  if ((options.routes ?? 1) > 1) {
    bulkApis(config.storePath, api.id, options.routes! - 1);
    // The route table is rebuilt on this event, as after a change through the admin API.
    gh.ctx.changes.publish({ type: 'api.changed', apiId: api.id });
  }
  return {
    gh,
    apiId: api.id as string,
    path: '/bench',
    secret: key.secret as string,
    headers,
    hotSecretsFile,
    async close() {
      await gh.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An ES256 access token for the API, from Gatehouse's own token endpoint (client credentials). */
async function accessToken(admin: (path: string, body: unknown) => Promise<any>, gh: Gatehouse, apiId: string): Promise<string> {
  const client = await admin('/clients', { name: 'bench', grantTypes: ['client_credentials'], scopes: ['bench:read'], apiIds: [apiId] });
  const res = await fetch(`${gh.controlUrl}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=bench:read',
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`token request: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}
