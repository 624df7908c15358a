import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { createPepper, type Pepper } from '../domain/key-hash.ts';
import { OtelEnvironmentError, readOtelEnvironment, type OtelEnvironment } from './otel-environment.ts';
import { configSchema, gatewayPublicHost, type ParsedConfig } from './schema.ts';

export interface Config extends ParsedConfig {
  storePath: string;
  /** The PostgreSQL store's password (store.passwordFile, GATEHOUSE_STORE_PASSWORD); null: none, or PGPASSWORD. */
  storePassword: string | null;
  /** Redis's password (redis.passwordFile, GATEHOUSE_REDIS_PASSWORD); null: none. */
  redisPassword: string | null;
  /** The first hashes new keys; the rest are earlier peppers still accepted during a rotation. */
  peppers: Pepper[];
  masterKey: Buffer | null;
  /** The secret of the introspection client of the issuer that has one (tokens.issuers[].introspection). */
  introspectionClientSecret: string | null;
  /** Headers for the OTLP collector (OTEL_EXPORTER_OTLP_HEADERS): often its credential, so from the environment only. */
  tracingHeaders: Record<string, string>;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses and validates the configuration once, at start: the YAML file (optional), then
 * GATEHOUSE_* variables over it (GATEHOUSE_GATEWAY_PORT for gateway.port, GATEHOUSE_CACHE_KEY_TTL_SECONDS
 * for cache.keyTtlSeconds...), then the secrets, which come only from files or the environment.
 */
export function loadConfig(options: { file?: string | undefined; env?: NodeJS.ProcessEnv; secretsRequired?: boolean }): Readonly<Config> {
  const env = options.env ?? process.env;
  const fromFile = options.file ? readYaml(options.file) : {};
  const merged = overlayEnvironment(fromFile, env) as Record<string, unknown>;
  const otel = otelEnvironment(env);
  // The OpenTelemetry variables are read last: over the file and GATEHOUSE_TRACING_*, as operators of OTel SDKs expect.
  merged.tracing = { ...(typeof merged.tracing === 'object' && merged.tracing !== null ? merged.tracing : {}), ...otel.tracing };
  refuseNonNumbers(merged, options.file);
  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(`invalid configuration${options.file ? ` in ${options.file}` : ''}:\n${describeIssues(result.error)}`);
  const parsed = result.data;
  if (parsed.gateway.tls && parsed.gateway.httpRedirectPort !== undefined && gatewayPublicHost(parsed.gateway) === null) {
    throw new ConfigError('gateway.httpRedirectPort redirects clients to gateway.publicHost, which must be set when gateway.host listens on every address');
  }
  const peppers = loadPeppers(parsed, env, join(parsed.dataDir, DATA_DIR_PEPPER));
  if (peppers.length === 0 && options.secretsRequired !== false) {
    throw new ConfigError('no key-hashing pepper: set GATEHOUSE_PEPPER or GATEHOUSE_PEPPER_FILE, or secrets.pepperFile');
  }
  return deepFreeze({
    ...parsed,
    storePath: resolve(parsed.store.path ?? join(parsed.dataDir, 'gatehouse.db')),
    storePassword: readPassword('store', parsed.store.passwordFile, env.GATEHOUSE_STORE_PASSWORD),
    redisPassword: readPassword('Redis', parsed.redis.passwordFile, env.GATEHOUSE_REDIS_PASSWORD),
    peppers,
    masterKey: loadMasterKey(parsed, env, join(parsed.dataDir, DATA_DIR_MASTER_KEY)),
    introspectionClientSecret: loadIntrospectionSecret(parsed, env),
    tracingHeaders: otel.headers,
  });
}

/** A password from its file (configured), else from its environment variable; null when neither is set. */
function readPassword(what: string, file: string | undefined, fromEnv: string | undefined): string | null {
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new ConfigError(`cannot read the ${what} password file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return fromEnv || null;
}

const isKeyObject = (value: object): boolean => value.constructor?.name?.endsWith('KeyObject') ?? false;

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !isKeyObject(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`).join('\n');
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(error as Error).message}`);
  }
}

/** Every scalar setting of the schema, as its dotted path; each may come from GATEHOUSE_<PATH>. */
function scalarPaths(): string[][] {
  const defaults = configSchema.parse({});
  const paths: string[][] = [
    ['store', 'path'],
    ['store', 'url'],
    ['store', 'passwordFile'],
    ['redis', 'url'],
    ['redis', 'username'],
    ['redis', 'passwordFile'],
    ['redis', 'sentinelMaster'],
    ['redis', 'caFile'],
  ];
  const walk = (value: unknown, path: string[]): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    } else if (!Array.isArray(value)) paths.push(path);
  };
  walk(defaults, []);
  for (const secret of ['pepperFile', 'previousPeppersFile', 'masterKeyFile']) paths.push(['secrets', secret]);
  for (const file of ['certFile', 'keyFile', 'clientCaFile']) paths.push(['gateway', 'tls', file]);
  for (const file of ['certFile', 'keyFile']) paths.push(['control', 'tls', file]);
  paths.push(
    ['gateway', 'httpRedirectPort'],
    ['gateway', 'publicHost'],
    ['authorization', 'issuer'],
    ['webhooks', 'caFile'],
    ['console', 'assetsDir'],
    ['portal', 'keyPolicy'],
  );
  return paths;
}

/**
 * The schema coerces numeric settings with Number(), which reads a key left blank in YAML (null),
 * false and '' as 0 and true as 1: a random port, HSTS off, change polling off. Refused here, by name.
 */
function refuseNonNumbers(merged: Record<string, unknown>, file: string | undefined): void {
  const numeric: string[][] = [['gateway', 'httpRedirectPort']];
  const walk = (value: unknown, path: string[]): void => {
    if (typeof value === 'number') numeric.push(path);
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
  };
  walk(configSchema.parse({}), []);
  const issues: string[] = [];
  for (const path of numeric) {
    let node: unknown = merged;
    for (const part of path)
      node = node !== null && typeof node === 'object' && Object.hasOwn(node, part) ? (node as Record<string, unknown>)[part] : undefined;
    if (node === undefined || typeof node === 'number' || (typeof node === 'string' && node.trim() !== '')) continue;
    issues.push(`  ${path.join('.')}: a number is expected, not ${node === null ? 'an empty value' : JSON.stringify(node)}`);
  }
  if (issues.length > 0) throw new ConfigError(`invalid configuration${file ? ` in ${file}` : ''}:\n${issues.join('\n')}`);
}

const envName = (path: string[]): string => `GATEHOUSE_${path.map((p) => p.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()).join('_')}`;

function overlayEnvironment(base: unknown, env: NodeJS.ProcessEnv): unknown {
  const out = structuredClone(base && typeof base === 'object' ? base : {}) as Record<string, unknown>;
  for (const path of scalarPaths()) {
    const value = env[envName(path)];
    if (value === undefined || value === '') continue;
    let node = out;
    for (const part of path.slice(0, -1)) {
      if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[path.at(-1)!] = value;
  }
  return out;
}

function otelEnvironment(env: NodeJS.ProcessEnv): OtelEnvironment {
  try {
    return readOtelEnvironment(env);
  } catch (error) {
    if (error instanceof OtelEnvironmentError) throw new ConfigError(`invalid configuration: ${error.message}`);
    throw error;
  }
}

/** Demo mode keeps a generated pepper in the data directory; a configured one always wins. */
export const DATA_DIR_PEPPER = 'pepper';

function loadPeppers(config: ParsedConfig, env: NodeJS.ProcessEnv, dataDirPepper: string): Pepper[] {
  const file = env.GATEHOUSE_PEPPER_FILE || config.secrets.pepperFile || (existsSync(dataDirPepper) ? dataDirPepper : undefined);
  const current = readSecret('pepper', env.GATEHOUSE_PEPPER, file);
  const previous = readSecret('previous peppers', env.GATEHOUSE_PREVIOUS_PEPPERS, env.GATEHOUSE_PREVIOUS_PEPPERS_FILE || config.secrets.previousPeppersFile);
  const secrets = [
    current,
    ...(previous
      ? previous
          .toString('utf8')
          .split(/[\s,]+/)
          .filter(Boolean)
          .map((p) => Buffer.from(p))
      : []),
  ];
  return secrets
    .filter((s): s is Buffer => s !== null)
    .map((secret) => {
      if (secret.length < 32) throw new ConfigError('a pepper must be at least 32 characters of random data');
      return createPepper(secret);
    });
}

/** Demo mode keeps a generated master key beside the pepper; a configured one always wins. */
export const DATA_DIR_MASTER_KEY = 'master-key';

function loadMasterKey(config: ParsedConfig, env: NodeJS.ProcessEnv, dataDirKey: string): Buffer | null {
  const file = env.GATEHOUSE_MASTER_KEY_FILE || config.secrets.masterKeyFile || (existsSync(dataDirKey) ? dataDirKey : undefined);
  const key = readSecret('master key', env.GATEHOUSE_MASTER_KEY, file);
  if (key && key.length < 32) throw new ConfigError('the master key must be at least 32 characters of random data');
  return key;
}

/** An issuer checked by introspection (RFC 7662) needs its client's secret: from the environment or a file. */
function loadIntrospectionSecret(config: ParsedConfig, env: NodeJS.ProcessEnv): string | null {
  const issuer = config.tokens.issuers.find((i) => i.introspection);
  if (!issuer?.introspection) return null;
  const secret = readSecret('introspection client secret', env.GATEHOUSE_INTROSPECTION_CLIENT_SECRET, issuer.introspection.clientSecretFile);
  if (!secret)
    throw new ConfigError(`the introspection client for ${issuer.issuer} needs its secret: clientSecretFile or GATEHOUSE_INTROSPECTION_CLIENT_SECRET`);
  return secret.toString('utf8');
}

function readSecret(what: string, value: string | undefined, file: string | undefined): Buffer | null {
  if (value) return Buffer.from(value.trim());
  if (!file) return null;
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim());
  } catch (error) {
    throw new ConfigError(`cannot read the ${what} file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}
