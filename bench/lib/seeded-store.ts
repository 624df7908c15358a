/**
 * A Gatehouse store on disk with one API (`/bench`, apiKey), one app and N keys like the benchmark's
 * (a rate limit and a daily quota far above any load): the first three made by Gatehouse's own
 * services, the other keys written straight into the table (bulk-store.ts). For benchmarks that start
 * Gatehouse, or parts of it, on a big store (cold-start.ts, per-key-memory.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { apisService } from '../../src/control/services/apis.ts';
import { appsService } from '../../src/control/services/apps.ts';
import { keysService } from '../../src/control/services/keys.ts';
import { apiInputSchema, appInputSchema, keyCreateSchema } from '../../src/domain/inputs/resources.ts';
import { startGatehouse } from '../../src/gatehouse.ts';
import { bulkKeys } from './bulk-store.ts';

export interface SeededStore {
  /** GATEHOUSE_PEPPER and GATEHOUSE_MASTER_KEY, hex. */
  pepper: string;
  masterKey: string;
  apiId: string;
  keyId: string;
  /** The first key's secret, then those of the next `keepSecrets` keys. */
  secrets: string[];
  storePath: string;
}

/** The environment a Gatehouse on this store starts with (plain HTTP, quiet logs). */
export function storeEnv(dir: string, seeded: Pick<SeededStore, 'pepper' | 'masterKey'>, extra: Record<string, string> = {}): Record<string, string> {
  return {
    GATEHOUSE_DATA_DIR: dir,
    GATEHOUSE_PEPPER: seeded.pepper,
    GATEHOUSE_MASTER_KEY: seeded.masterKey,
    GATEHOUSE_GATEWAY_PORT: '0',
    GATEHOUSE_CONTROL_PORT: '0',
    GATEHOUSE_LOG_LEVEL: 'warn',
    GATEHOUSE_GATEWAY_PLAINTEXT_CREDENTIALS: 'allow',
    ...extra,
  };
}

export async function seedStore(dir: string, keys: number, keepSecrets = 0): Promise<SeededStore> {
  mkdirSync(dir, { recursive: true });
  const secrets = { pepper: randomBytes(32).toString('hex'), masterKey: randomBytes(32).toString('hex') };
  const config = loadConfig({ env: storeEnv(dir, secrets, { GATEHOUSE_GATEWAY_WORKERS: '1' }) });
  const gh = await startGatehouse(config, { logger: pino({ level: 'silent' }) });
  const actor = { actor: 'bench', requestId: null };
  const api = await apisService.create(
    gh.ctx,
    actor,
    apiInputSchema.parse({ name: 'bench', listenPath: '/bench', upstreamUrl: 'http://127.0.0.1:9', auth: { type: 'apiKey', scopes: [] } }),
  );
  const app = await appsService.create(gh.ctx, actor, appInputSchema.parse({ name: 'Benchmark', owner: 'bench@example.com' }));
  const { key, secret } = await keysService.create(
    gh.ctx,
    actor,
    keyCreateSchema.parse({
      appId: app.id,
      access: [{ apiId: api.id }],
      rateLimits: [{ name: 'per-second', limit: 1_000_000_000, windowSeconds: 1 }],
      quota: { limit: 1_000_000_000_000, period: 'day' },
    }),
  );
  const pepper = gh.ctx.peppers[0]!;
  await gh.close();
  const more = bulkKeys(config.storePath, key.id, pepper, keys - 1, keepSecrets);
  return { ...secrets, apiId: api.id, keyId: key.id, secrets: [secret, ...more], storePath: config.storePath };
}
