/**
 * A real Gatehouse for the benchmarks: a config from loadConfig (temporary data dir, random pepper,
 * ephemeral ports, silent logs), startGatehouse, then one API (listen path /bench, pointing at
 * `upstream`), one app and one key, created through the admin API. The key has a rate limit and a
 * daily quota far above anything the benchmarks send, so key auth, the limiter and usage counting are
 * all on the request path while nothing is refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/load.ts';
import { adminKeysService } from '../src/control/services/admin-keys.ts';
import { ADMIN_PERMISSIONS } from '../src/domain/permissions.ts';
import { startGatehouse, type Gatehouse } from '../src/gatehouse.ts';

export interface SeededGatehouse {
  gh: Gatehouse;
  apiId: string;
  /** The API's listen path. */
  path: string;
  /** The API key's secret. */
  secret: string;
  close(): Promise<void>;
}

export async function startSeededGatehouse(upstream: string): Promise<SeededGatehouse> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const config = loadConfig({
    env: {
      GATEHOUSE_PEPPER: randomBytes(32).toString('hex'),
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_GATEWAY_PORT: '0',
      GATEHOUSE_CONTROL_PORT: '0',
      GATEHOUSE_LOG_LEVEL: 'silent',
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
  const api = await admin('/apis', { name: 'bench', listenPath: '/bench', upstreamUrl: upstream });
  const app = await admin('/apps', { name: 'Benchmark', owner: 'bench@example.com' });
  const key = await admin('/keys', {
    appId: app.id,
    access: [{ apiId: api.id }],
    rateLimits: [{ name: 'per-second', limit: 1_000_000_000, windowSeconds: 1 }],
    quota: { limit: 1_000_000_000_000, period: 'day' },
  });
  return {
    gh,
    apiId: api.id as string,
    path: '/bench',
    secret: key.secret as string,
    async close() {
      await gh.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
