import { closeSync, existsSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml, YAMLError } from 'yaml';
import { z } from 'zod';
import { createPepper, type Pepper } from '../domain/key-hash.ts';
import { OtelEnvironmentError, readOtelEnvironment, type OtelEnvironment } from './otel-environment.ts';
import { configSchema, gatewayPublicHost, type ParsedConfig } from './schema.ts';
import { refusedCaMode, refusedSecretMode, type SecretFileWarning } from './file-modes.ts';

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
  /** Secrets files others may read, or their group write: logged as warnings at start (one that anyone may write is refused). */
  secretFileWarnings: SecretFileWarning[];
}

export type { SecretFileWarning };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses and validates the configuration once, at start: the YAML file (optional), then
 * GATEHOUSE_* variables over it (GATEHOUSE_GATEWAY_PORT for gateway.port, GATEHOUSE_CACHE_KEY_TTL_SECONDS
 * for cache.keyTtlSeconds...), then the secrets, which come only from files or the environment.
 */
export function loadConfig(options: {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  secretsRequired?: boolean;
  /** Settings under the file's and the environment's, over the schema's defaults: demo mode's own. */
  base?: Record<string, unknown>;
}): Readonly<Config> {
  const env = options.env ?? process.env;
  const fromFile = mergeUnder(options.base ?? {}, options.file ? readYaml(options.file) : {});
  const fromEnv = new Map<string, string>();
  const merged = overlayEnvironment(fromFile, env, fromEnv) as Record<string, unknown>;
  const otel = otelEnvironment(env);
  // The OpenTelemetry variables are read last: over the file and GATEHOUSE_TRACING_*, as operators of OTel SDKs expect.
  merged.tracing = { ...(typeof merged.tracing === 'object' && merged.tracing !== null ? merged.tracing : {}), ...otel.tracing };
  refuseNonNumbers(merged, options.file, fromEnv);
  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(`invalid configuration${options.file ? ` in ${options.file}` : ''}:\n${describeIssues(result.error, fromEnv)}`);
  const parsed = result.data;
  if (parsed.gateway.tls && parsed.gateway.httpRedirectPort !== undefined && gatewayPublicHost(parsed.gateway) === null) {
    throw new ConfigError('gateway.httpRedirectPort redirects clients to gateway.publicHost, which must be set when gateway.host listens on every address');
  }
  const warnings: SecretFileWarning[] = [];
  const peppers = loadPeppers(parsed, env, join(parsed.dataDir, DATA_DIR_PEPPER), warnings);
  if (peppers.length === 0 && options.secretsRequired !== false) {
    throw new ConfigError('no key-hashing pepper: set GATEHOUSE_PEPPER or GATEHOUSE_PEPPER_FILE, or secrets.pepperFile');
  }
  return deepFreeze({
    ...parsed,
    storePath: resolve(parsed.store.path ?? join(parsed.dataDir, 'gatehouse.db')),
    storePassword: readPassword('store', 'store.passwordFile', parsed.store.passwordFile, env.GATEHOUSE_STORE_PASSWORD, warnings),
    redisPassword: readPassword('Redis', 'redis.passwordFile', parsed.redis.passwordFile, env.GATEHOUSE_REDIS_PASSWORD, warnings),
    peppers,
    masterKey: loadMasterKey(parsed, env, join(parsed.dataDir, DATA_DIR_MASTER_KEY), warnings),
    introspectionClientSecret: loadIntrospectionSecret(parsed, env, warnings),
    tracingHeaders: otel.headers,
    secretFileWarnings: checkFilesReadAtStart(parsed, warnings),
  });
}

/** A password from its file (configured), else from its environment variable; null when neither is set. */
function readPassword(what: string, setting: string, file: string | undefined, fromEnv: string | undefined, warnings: SecretFileWarning[]): string | null {
  if (file) return readSecretFile(`${what} password`, setting, file, warnings).trim();
  return fromEnv || null;
}

/**
 * A secrets file's text, its mode checked on the file read: one anyone may write is refused (anyone
 * could replace the secret); one others may read, or its group write, is a warning. Not refused:
 * Docker and Kubernetes mount secrets 0444 or 0644, owned by root.
 */
function readSecretFile(what: string, setting: string, file: string, warnings: SecretFileWarning[]): string {
  let mode: number;
  let text: string;
  try {
    const fd = openSync(file, 'r');
    try {
      mode = fstatSync(fd).mode;
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new ConfigError(`cannot read the ${what} file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  checkSecretMode(setting, file, mode, warnings);
  return text;
}

/** Refuses a secrets file anyone may write; notes one others may read or its group write (file-modes.ts). */
function checkSecretMode(setting: string, file: string, mode: number, warnings: SecretFileWarning[]): void {
  const refused = refusedSecretMode(setting, file, mode, warnings);
  if (refused !== null) throw new ConfigError(refused);
}

/**
 * Files read when the listeners and connections start, checked here with the secrets files: the TLS
 * private keys as secrets; the CA files, which are public, only for being writable by anyone, who
 * could add a CA of their own (client certificates for mutual TLS, a Redis server, a webhook receiver
 * of their making). One missing is left to its read to report.
 */
function checkFilesReadAtStart(config: ParsedConfig, warnings: SecretFileWarning[]): SecretFileWarning[] {
  for (const [setting, tls] of [
    ['gateway.tls.keyFile', config.gateway.tls],
    ['control.tls.keyFile', config.control.tls],
  ] as const) {
    if (tls && existsSync(tls.keyFile)) checkSecretMode(setting, tls.keyFile, statSync(tls.keyFile).mode, warnings);
  }
  for (const [setting, file] of [
    ['gateway.tls.clientCaFile', config.gateway.tls?.clientCaFile],
    ['redis.caFile', config.redis.caFile],
    ['webhooks.caFile', config.webhooks.caFile],
  ] as const) {
    if (file && existsSync(file)) checkCaMode(setting, file, statSync(file).mode);
  }
  return warnings;
}

/** Refuses a CA file anyone may write (file-modes.ts). */
function checkCaMode(setting: string, file: string, mode: number): void {
  const refused = refusedCaMode(setting, file, mode);
  if (refused !== null) throw new ConfigError(refused);
}

const isKeyObject = (value: object): boolean => value.constructor?.name?.endsWith('KeyObject') ?? false;

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !isKeyObject(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function describeIssues(error: z.ZodError, fromEnv: ReadonlyMap<string, string>): string {
  return error.issues.map((issue) => `  ${settingName(issue.path.join('.') || '(root)', fromEnv)}: ${issue.message}`).join('\n');
}

/**
 * A setting as an error names it: with the variable it came from when the environment set it, since
 * the environment wins over the file, whose line may well be right.
 */
function settingName(path: string, fromEnv: ReadonlyMap<string, string>): string {
  // A list's item (`roles.1`) came from the variable that gave the list.
  const variable = fromEnv.get(path) ?? fromEnv.get(path.replace(/(?:\.\d+)+$/, ''));
  return variable ? `${path} (from ${variable})` : path;
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    // Not yaml's pretty errors and warnings: they quote the lines around the mistake, and a secret
    // written into the file by mistake (refused below without being echoed) must not reach the log.
    return parseYaml(text, { prettyErrors: false }) ?? {};
  } catch (error) {
    if (!(error instanceof YAMLError)) throw error;
    const before = text.slice(0, error.pos[0]).split('\n');
    throw new ConfigError(`config file ${file} is not valid YAML: ${error.message} (line ${before.length}, column ${before.at(-1)!.length + 1})`);
  }
}

/** Lists whose items are objects: the YAML file's to give, as no one variable can spell them. */
const LISTS_OF_OBJECTS = new Set(['apis', 'tokens.issuers']);

/**
 * Every setting of the schema that one variable can give, as its path: scalars, and lists of strings or
 * numbers (comma-separated, `[]` for an empty one: listLike). Each may come from GATEHOUSE_<PATH>.
 */
function settingPaths(): string[][] {
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
    } else if (!Array.isArray(value) || !LISTS_OF_OBJECTS.has(path.join('.'))) paths.push(path);
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
    ['secretScanning', 'github', 'publicKeysUrl'],
  );
  return paths;
}

/**
 * The schema coerces numeric settings with Number(), which reads a key left blank in YAML (null),
 * false and '' as 0 and true as 1: a random port, HSTS off, change polling off. Refused here, by name.
 */
function refuseNonNumbers(merged: Record<string, unknown>, file: string | undefined, fromEnv: ReadonlyMap<string, string>): void {
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
    if (node === undefined || typeof node === 'number' || (typeof node === 'string' && node.trim() !== '' && !Number.isNaN(Number(node)))) continue;
    // A string is not echoed: it may be something else pasted into the wrong place.
    const what = node === null ? 'an empty value' : typeof node === 'string' ? (node.trim() === '' ? '""' : 'text') : JSON.stringify(node);
    issues.push(`  ${settingName(path.join('.'), fromEnv)}: a number is expected, not ${what}`);
  }
  if (issues.length > 0) throw new ConfigError(`invalid configuration${file ? ` in ${file}` : ''}:\n${issues.join('\n')}`);
}

const envName = (path: string[]): string => `GATEHOUSE_${path.map((p) => p.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()).join('_')}`;

/** The file's settings with the environment's over them; `fromEnv` gets each setting the environment set, with its variable. */
/** `over` laid on `base`: objects merged setting by setting, anything else (lists too) taken whole from `over`. */
function mergeUnder(base: Record<string, unknown>, over: unknown): unknown {
  // A file that is not a mapping is left for the schema to refuse.
  if (!isPlainObject(over)) return over;
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) out[k] = isPlainObject(out[k]) && isPlainObject(v) ? mergeUnder(out[k], v) : v;
  return out;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function overlayEnvironment(base: unknown, env: NodeJS.ProcessEnv, fromEnv: Map<string, string>): unknown {
  const out = structuredClone(base && typeof base === 'object' ? base : {}) as Record<string, unknown>;
  const defaults = configSchema.parse({}) as Record<string, unknown>;
  for (const path of settingPaths()) {
    const value = env[envName(path)];
    if (value === undefined || value === '') continue;
    fromEnv.set(path.join('.'), envName(path));
    let node = out;
    let byDefault: unknown = defaults;
    for (const part of path.slice(0, -1)) {
      if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
      node = node[part] as Record<string, unknown>;
      byDefault = (byDefault as Record<string, unknown> | undefined)?.[part];
    }
    const listByDefault = (byDefault as Record<string, unknown> | undefined)?.[path.at(-1)!];
    node[path.at(-1)!] = Array.isArray(listByDefault) ? listOf(value, listByDefault) : value;
  }
  return out;
}

/**
 * A list setting as one variable gives it: items separated by commas (spaces around them dropped), `[]`
 * for none. Numbers where the default's items are numbers; the schema then checks each item, naming
 * the variable.
 */
function listOf(value: string, byDefault: readonly unknown[]): unknown[] {
  if (value.trim() === '[]') return [];
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return typeof byDefault[0] === 'number' ? items.map(Number) : items;
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

function loadPeppers(config: ParsedConfig, env: NodeJS.ProcessEnv, dataDirPepper: string, warnings: SecretFileWarning[]): Pepper[] {
  const current = readSecret(
    'pepper',
    env.GATEHOUSE_PEPPER,
    secretFile(env, 'GATEHOUSE_PEPPER_FILE', config.secrets.pepperFile, 'secrets.pepperFile', dataDirPepper),
    warnings,
  );
  const previous = readSecret(
    'previous peppers',
    env.GATEHOUSE_PREVIOUS_PEPPERS,
    secretFile(env, 'GATEHOUSE_PREVIOUS_PEPPERS_FILE', config.secrets.previousPeppersFile, 'secrets.previousPeppersFile'),
    warnings,
  );
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

function loadMasterKey(config: ParsedConfig, env: NodeJS.ProcessEnv, dataDirKey: string, warnings: SecretFileWarning[]): Buffer | null {
  const key = readSecret(
    'master key',
    env.GATEHOUSE_MASTER_KEY,
    secretFile(env, 'GATEHOUSE_MASTER_KEY_FILE', config.secrets.masterKeyFile, 'secrets.masterKeyFile', dataDirKey),
    warnings,
  );
  if (key && key.length < 32) throw new ConfigError('the master key must be at least 32 characters of random data');
  return key;
}

/** An issuer checked by introspection (RFC 7662) needs its client's secret: from the environment or a file. */
function loadIntrospectionSecret(config: ParsedConfig, env: NodeJS.ProcessEnv, warnings: SecretFileWarning[]): string | null {
  const issuer = config.tokens.issuers.find((i) => i.introspection);
  if (!issuer?.introspection) return null;
  const file = issuer.introspection.clientSecretFile;
  const secret = readSecret(
    'introspection client secret',
    env.GATEHOUSE_INTROSPECTION_CLIENT_SECRET,
    file ? { setting: 'tokens.issuers[].introspection.clientSecretFile', path: file } : undefined,
    warnings,
  );
  if (!secret)
    throw new ConfigError(`the introspection client for ${issuer.issuer} needs its secret: clientSecretFile or GATEHOUSE_INTROSPECTION_CLIENT_SECRET`);
  return secret.toString('utf8');
}

/** A secrets file and the setting that names it: its variable, else the config file's setting, else the data directory's (demo). */
function secretFile(
  env: NodeJS.ProcessEnv,
  variable: string,
  configured: string | undefined,
  setting: string,
  inDataDir?: string,
): { setting: string; path: string } | undefined {
  if (env[variable]) return { setting: variable, path: env[variable] };
  if (configured) return { setting, path: configured };
  if (inDataDir !== undefined && existsSync(inDataDir)) return { setting: 'dataDir', path: inDataDir };
  return undefined;
}

function readSecret(
  what: string,
  value: string | undefined,
  file: { setting: string; path: string } | undefined,
  warnings: SecretFileWarning[],
): Buffer | null {
  if (value) return Buffer.from(value.trim());
  if (!file) return null;
  return Buffer.from(readSecretFile(what, file.setting, file.path, warnings).trim());
}
