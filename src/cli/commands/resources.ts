import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { AdminClient } from '../admin-client.ts';
import { asksForHelp, HelpRequest, table, UsageError, type Output } from '../output.ts';
import { resolveAll, resolveId, resolveOptional, type NamedKind } from '../resolve.ts';

export type Flags = Record<string, string | boolean | string[] | undefined>;

export interface Verb {
  usage: string;
  flags?: ParseArgsOptionsConfig;
  positionals?: number;
  run(client: AdminClient, args: string[], flags: Flags): Promise<unknown>;
  text?(result: any): string;
  /** The exit code for an answer that is a refusal (1), e.g. a key that is not valid; 0 when absent. */
  exitCode?(result: any): number;
}

/** `--data '{"...": ...}'` or `--data @file.json`: the admin API's body as is, for every field. */
export function data(flags: Flags): Record<string, unknown> {
  const raw = flags.data as string | undefined;
  if (raw === undefined) return {};
  const text = raw.startsWith('@') ? readFileSync(raw.slice(1), 'utf8') : raw;
  try {
    const parsed = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error();
    return parsed;
  } catch {
    throw new UsageError('--data must be a JSON object (or @file.json holding one)');
  }
}

export const csv = (value: unknown): string[] | undefined =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
export const num = (name: string, value: unknown): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number`);
  return n;
};
/** A flag that takes one of a few values: anything else is a wrong command line (exit 2), named with the values. */
export const oneOf = (name: string, value: unknown, values: readonly string[]): string | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !values.includes(value)) throw new UsageError(`--${name} ${String(value)}: use one of ${values.join(', ')}`);
  return value;
};
export const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** `name:limit:windowSeconds`, e.g. `burst:100:1`. */
function rateLimits(values: unknown): unknown[] | undefined {
  if (!Array.isArray(values) || values.length === 0) return undefined;
  return values.map((v: string) => {
    const [name, limit, window] = v.split(':');
    if (!name || !limit || !window) throw new UsageError(`--rate-limit ${v}: use name:limit:windowSeconds, e.g. burst:100:1`);
    return { name, limit: num('rate-limit', limit), windowSeconds: num('rate-limit', window) };
  });
}

/** `1000/day` or `50000/month`. */
function quota(value: unknown): unknown {
  if (typeof value !== 'string') return undefined;
  const [limit, period] = value.split('/');
  if (!limit || (period !== 'day' && period !== 'month')) throw new UsageError(`--quota ${value}: use limit/day or limit/month`);
  return { limit: num('quota', limit), period };
}

export const PAGE_FLAGS: ParseArgsOptionsConfig = { limit: { type: 'string' }, cursor: { type: 'string' } };
export const query = (q: Record<string, unknown>) => {
  const params = new URLSearchParams(Object.entries(defined(q)).map(([k, v]): [string, string] => [k, String(v)]));
  return params.size ? `?${params}` : '';
};

/** What each flag takes, for usages built from a verb's flags; a flag not named here takes a VALUE. */
const PLACEHOLDERS: Record<string, string> = {
  name: 'NAME',
  'listen-path': '/PATH',
  upstream: 'URL',
  owner: 'EMAIL',
  app: 'NAME|ID',
  api: 'NAME|ID',
  policy: 'NAME|ID',
  'exchange-app': 'NAME|ID',
  env: 'live|test',
  'expires-in': 'SECONDS',
  'rate-limit': 'name:limit:window',
  quota: 'N/day|N/month',
  scopes: 'a,b',
  ip: 'CIDR',
  'timeout-seconds': 'N',
  'path-case': 'sensitive|insensitive',
  'when-redis-unavailable': 'local|fail-closed',
  type: 'confidential|public',
  'redirect-uri': 'URL',
  grant: 'GRANT_TYPE',
  'token-ttl': 'SECONDS',
  email: 'E',
  roles: 'a,b',
  'console-role': 'admin|operator|auditor|developer|none',
  url: 'URL',
  events: 'a,b',
  description: 'TEXT',
  data: 'JSON',
};

/** `[--name NAME] [--api NAME|ID ...] [--public]`: every flag a verb takes, so `--help` names them all. */
export function flagsUsage(flags: ParseArgsOptionsConfig): string {
  return Object.entries(flags)
    .map(([flag, option]) => {
      const value = option.type === 'boolean' ? '' : ` ${PLACEHOLDERS[flag] ?? 'VALUE'}${option.multiple ? ' ...' : ''}`;
      return `[--${flag}${value}]`;
    })
    .join(' ');
}

/**
 * list, show, create, update and delete for one resource. `body` builds the admin API's body from the
 * flags (resolving names to ids); with `named`, the ID of show, update and delete may be a name too.
 */
export function crud(
  path: string,
  columns: string[],
  createFlags: ParseArgsOptionsConfig,
  body: (client: AdminClient, flags: Flags) => Promise<Record<string, unknown>> | Record<string, unknown>,
  named?: NamedKind,
): Record<string, Verb> {
  const idOf = async (c: AdminClient, id: string) => (named ? resolveId(c, named, id) : id);
  const noun = named === 'api' ? 'API' : (named ?? path.slice(1).replace(/s$/, ''));
  const item = async (c: AdminClient, id: string) => `${path}/${encodeURIComponent(await idOf(c, id))}`;
  return {
    list: {
      usage: `list ${named ? '[--name NAME] ' : ''}[--limit N] [--cursor C]`,
      flags: named ? { ...PAGE_FLAGS, name: { type: 'string' } } : PAGE_FLAGS,
      run: (c, _a, f) => c.request('GET', `${path}${query({ name: f.name, limit: f.limit, cursor: f.cursor })}`),
      text: (r) => table(r.items, columns) + (r.nextCursor ? `\n(more: --cursor ${r.nextCursor})` : ''),
    },
    show: { usage: named ? 'show ID|NAME' : 'show ID', positionals: 1, run: async (c, [id]) => c.request('GET', await item(c, id!)) },
    create: {
      usage: `create ${flagsUsage(createFlags)}`,
      flags: createFlags,
      run: async (c, _a, f) => c.request('POST', path, { ...(await body(c, f)), ...data(f) }),
      // A sentence, as keys, clients and users create print; --json gives the whole object.
      text: (r) => `created ${noun} ${r.id}${typeof r.name === 'string' ? ` (${r.name})` : ''}: gatehouse ${path.slice(1)} show ${r.id} shows all of it`,
    },
    update: {
      usage: `update ${named ? 'ID|NAME' : 'ID'} ${flagsUsage(createFlags)}`,
      flags: createFlags,
      positionals: 1,
      run: async (c, [id], f) => c.request('PATCH', await item(c, id!), { ...(await body(c, f)), ...data(f) }),
      text: (r) => `updated ${noun} ${r.id}${typeof r.name === 'string' ? ` (${r.name})` : ''}: gatehouse ${path.slice(1)} show ${r.id} shows all of it`,
    },
    delete: {
      usage: named ? 'delete ID|NAME' : 'delete ID',
      positionals: 1,
      run: async (c, [ref]) => {
        const id = await idOf(c, ref!);
        await c.request('DELETE', `${path}/${encodeURIComponent(id)}`);
        return { deleted: id };
      },
    },
  };
}

const SETTINGS_FLAGS: ParseArgsOptionsConfig = {
  api: { type: 'string', multiple: true },
  'rate-limit': { type: 'string', multiple: true },
  quota: { type: 'string' },
  scopes: { type: 'string' },
  ip: { type: 'string', multiple: true },
  data: { type: 'string' },
};
/** --api NAME|ID (repeatable) grants the key or policy access to each API. */
const settingsBody = async (c: AdminClient, f: Flags) =>
  defined({
    access: (await resolveAll(c, 'api', f.api))?.map((apiId) => ({ apiId })),
    rateLimits: rateLimits(f['rate-limit']),
    quota: quota(f.quota),
    scopes: csv(f.scopes),
    ipAllowlist: Array.isArray(f.ip) ? f.ip : undefined,
  });

const keyBody = async (c: AdminClient, f: Flags) =>
  defined({
    appId: await resolveOptional(c, 'app', f.app),
    name: f.name,
    environment: f.env,
    policyId: await resolveOptional(c, 'policy', f.policy),
    expiresInSeconds: num('expires-in', f['expires-in']),
    ...(await settingsBody(c, f)),
  });

export const RESOURCE_GROUPS: Record<string, Record<string, Verb>> = {
  apis: crud(
    '/apis',
    ['id', 'name', 'listenPath', 'upstreamUrl'],
    {
      name: { type: 'string' },
      'listen-path': { type: 'string' },
      upstream: { type: 'string' },
      public: { type: 'boolean' },
      scopes: { type: 'string' },
      'timeout-seconds': { type: 'string' },
      'path-case': { type: 'string' },
      'when-redis-unavailable': { type: 'string' },
      data: { type: 'string' },
    },
    (_c, f) =>
      defined({
        name: f.name,
        listenPath: f['listen-path'],
        upstreamUrl: f.upstream,
        auth: f.public || f.scopes ? { type: f.public ? 'public' : 'apiKey', scopes: csv(f.scopes) ?? [] } : undefined,
        timeoutSeconds: num('timeout-seconds', f['timeout-seconds']),
        pathCase: f['path-case'],
        whenRedisUnavailable: f['when-redis-unavailable'],
      }),
    'api',
  ),
  apps: crud(
    '/apps',
    ['id', 'name', 'owner'],
    { name: { type: 'string' }, owner: { type: 'string' }, data: { type: 'string' } },
    (_c, f) => defined({ name: f.name, owner: f.owner }),
    'app',
  ),
  policies: crud(
    '/policies',
    ['id', 'name', 'rateLimits', 'quota'],
    { name: { type: 'string' }, ...SETTINGS_FLAGS },
    async (c, f) => defined({ name: f.name, ...(await settingsBody(c, f)) }),
    'policy',
  ),
  keys: {
    ...crud(
      '/keys',
      ['id', 'start', 'name', 'appId', 'environment', 'status', 'expiresAt', 'lastUsedAt'],
      {
        app: { type: 'string' },
        name: { type: 'string' },
        env: { type: 'string' },
        policy: { type: 'string' },
        'expires-in': { type: 'string' },
        ...SETTINGS_FLAGS,
      },
      keyBody,
    ),
    list: {
      usage:
        'list [--app NAME|ID] [--api NAME|ID] [--env live|test] [--status active|disabled|expired|revoked|exposed] [--exposed] [--rotation-due] [--limit N] [--cursor C]',
      flags: {
        ...PAGE_FLAGS,
        app: { type: 'string' },
        api: { type: 'string' },
        env: { type: 'string' },
        status: { type: 'string' },
        exposed: { type: 'boolean' },
        'rotation-due': { type: 'boolean' },
      },
      run: async (c, _a, f) => {
        // Checked here, not by the admin API, whose list lacks `exposed` (the CLI's own value).
        const given = oneOf('status', f.status, ['active', 'disabled', 'expired', 'revoked', 'exposed']);
        const environment = oneOf('env', f.env, ['live', 'test']);
        // Exposure is not a status (an exposed key may still be active): `--status exposed` is `--exposed`.
        const exposed = f.exposed === true || given === 'exposed' ? true : undefined;
        const status = given === 'exposed' ? undefined : given;
        const [appId, apiId] = [await resolveOptional(c, 'app', f.app), await resolveOptional(c, 'api', f.api)];
        const rotationDue = f['rotation-due'] === true ? true : undefined;
        return c.request('GET', `/keys${query({ appId, apiId, environment, status, exposed, rotationDue, limit: f.limit, cursor: f.cursor })}`);
      },
      text: (r) =>
        table(r.items, ['id', 'start', 'name', 'appId', 'environment', 'status', 'expiresAt', 'lastUsedAt', 'exposedAt', 'rotationDueAt']) +
        (r.nextCursor ? `\n(more: --cursor ${r.nextCursor})` : ''),
    },
    rotate: {
      usage: 'rotate ID [--grace SECONDS|10m|7d] [--retire-when-drained [--quiet-period SECONDS|10m]]',
      positionals: 1,
      flags: { grace: { type: 'string' }, 'retire-when-drained': { type: 'boolean' }, 'quiet-period': { type: 'string' } },
      run: (c, [id], f) => {
        const retire = f['retire-when-drained'] === true;
        if (f['quiet-period'] !== undefined && !retire) throw new UsageError('--quiet-period goes with --retire-when-drained');
        return c.request(
          'POST',
          `/keys/${encodeURIComponent(id!)}/rotate`,
          defined({
            gracePeriodSeconds: seconds('grace', f.grace),
            retire: retire ? 'when-drained' : undefined,
            quietPeriodSeconds: seconds('quiet-period', f['quiet-period']),
          }),
        );
      },
      text: (r) => {
        const old = r.previous;
        const until = old.retireWhenDrained
          ? `works until no request has used it for ${old.retireWhenDrained.quietPeriodSeconds} s (then it is revoked, reason "drained"), at the latest until ${old.expiresAt}`
          : `works until ${old.expiresAt}`;
        return `new key ${r.id} (the secret is shown once):\n${r.secret}\nold key ${old.id} ${until}`;
      },
    },
    revoke: {
      usage: 'revoke ID --reason TEXT',
      positionals: 1,
      flags: { reason: { type: 'string' } },
      run: (c, [id], f) => {
        if (typeof f.reason !== 'string') throw new UsageError('keys revoke needs --reason');
        return c.request('POST', `/keys/${encodeURIComponent(id!)}/revoke`, { reason: f.reason });
      },
      text: (r) => `revoked ${r.id} at ${r.revokedAt}`,
    },
    disable: {
      usage: 'disable ID',
      positionals: 1,
      run: (c, [id]) => c.request('PATCH', `/keys/${encodeURIComponent(id!)}`, { enabled: false }),
      text: (r) => `${r.id} is ${r.status}`,
    },
    enable: {
      usage: 'enable ID',
      positionals: 1,
      run: (c, [id]) => c.request('PATCH', `/keys/${encodeURIComponent(id!)}`, { enabled: true }),
      text: (r) => `${r.id} is ${r.status}`,
    },
    verify: {
      usage:
        'verify (reads the key from stdin or GATEHOUSE_VERIFY_KEY, never argv) [--api A] [--method M] [--path P] [--ip IP] [--consume]; exit 1 when not valid',
      flags: { api: { type: 'string' }, method: { type: 'string' }, path: { type: 'string' }, ip: { type: 'string' }, consume: { type: 'boolean' } },
      run: async (c, _a, f) => {
        const key = process.env.GATEHOUSE_VERIFY_KEY ?? (await readStdin()).trim();
        if (!key) throw new UsageError('give the key on stdin (or in GATEHOUSE_VERIFY_KEY)');
        // A check from a terminal or a deploy script is not a use of the key: it spends none of its
        // rate limit or quota, unless --consume asks it to count like a request.
        return c.request('POST', '/keys/verify', defined({ key, api: f.api, method: f.method, path: f.path, ip: f.ip, consume: f.consume === true }));
      },
      text: (r) => `${r.valid ? 'valid' : 'not valid'}: ${r.code}${r.keyId ? ` (${r.keyId})` : ''}`,
      // `gatehouse keys verify && deploy` must stop on a key that is not valid.
      exitCode: (r) => (r.valid ? 0 : 1),
    },
    usage: {
      usage: 'usage ID',
      positionals: 1,
      run: (c, [id]) => c.request('GET', `/keys/${encodeURIComponent(id!)}/usage`),
      text: (r) => table(r.days, ['day', 'requests']),
    },
    addresses: {
      usage: 'addresses ID [--limit N] [--cursor C]',
      positionals: 1,
      flags: PAGE_FLAGS,
      run: (c, [id], f) => c.request('GET', `/keys/${encodeURIComponent(id!)}/addresses${query({ limit: f.limit, cursor: f.cursor })}`),
      text: keyAddressesText,
    },
  },
};

/** `keys show`: the key as JSON, then one line on its rotation when it has a rule, and for a rotated key in its grace period one on whether it has drained. */
RESOURCE_GROUPS.keys!.show!.text = (r: any) =>
  [JSON.stringify(r, null, 2), rotationLine(r), r.drain ? drainLine(r.id, r.drain, r.retireWhenDrained) : null].filter((l) => l !== null).join('\n');

/** Whether the key is due for rotation under its rule (docs/rotation.md); null when it has none. */
export function rotationLine(r: any): string | null {
  if (!r.rotationDueAt) return null;
  if (!r.rotationDue) return `rotation due at ${r.rotationDueAt}`;
  return `rotation due since ${r.rotationDueAt}: rotate it (gatehouse keys rotate ${r.id} --retire-when-drained)`;
}

/** `90`, `90s`, `10m`, `2h`, `7d`: seconds. */
export function seconds(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/.exec(String(value));
  if (!m) throw new UsageError(`--${name} must be seconds, or a number with s, m, h or d (e.g. 10m)`);
  return Math.round(Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd']);
}

export function drainLine(keyId: string, d: any, retireWhenDrained?: { quietPeriodSeconds: number }): string {
  // A rotating key cannot have its expiry moved (domain/key-lifecycle.ts): retiring it early is revoking it.
  const retire = `gatehouse keys revoke ${keyId} --reason drained`;
  // No later key of the line works (control/services/compromise.ts, workingSuccessor, which follows a compromised successor to its replacement): never retire this one.
  if (d.successorId === null)
    return `its successor no longer works (revoked, expired, deleted or disabled), and no later key of its line does (a replacement issued for it would): keep this key, it stops working at ${d.graceEndsAt}; before then enable a disabled successor again, rotate it for a working key (gatehouse keys rotate ${keyId}), or report it compromised for a replacement (gatehouse keys compromised ${keyId} --reason TEXT)`;
  if (retireWhenDrained) {
    const used = d.secondsSinceLastUse === null ? 'never used' : `last used ${ago(d.secondsSinceLastUse)}`;
    return `retires by itself once unused for ${retireWhenDrained.quietPeriodSeconds} s (${used}; since the rotation at ${d.rotatedAt}: ${plural(d.addresses, 'address', 'addresses')}); at the latest it stops working at ${d.graceEndsAt}`;
  }
  if (d.retirable) return `no use since rotation: safe to retire (${retire}); otherwise it stops working at ${d.graceEndsAt}`;
  const who =
    d.addresses === 0 && !d.otherAddresses
      ? 'still used'
      : `still used by ${d.otherAddresses ? 'more than ' : ''}${plural(d.addresses, 'address', 'addresses')}`;
  const when = d.secondsSinceLastUse === null ? '' : `, last ${ago(d.secondsSinceLastUse)}`;
  return `${who}${when} (since the rotation at ${d.rotatedAt}; gatehouse keys addresses ${keyId} lists them); it stops working at ${d.graceEndsAt}, or at once with ${retire}`;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** `40 s ago`, `12 min ago`, `3 h ago`, `2 d ago`. */
function ago(seconds: number): string {
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

function keyAddressesText(r: any): string {
  const lines = [table(r.items, ['address', 'firstSeenAt', 'lastSeenAt', 'requests'])];
  if (r.nextCursor) lines.push(`(more: --cursor ${r.nextCursor})`);
  const o = r.otherAddresses;
  if (o) lines.push(`and ${o.requests} requests from other addresses (past the number kept per key), ${o.firstSeenAt} to ${o.lastSeenAt}`);
  return lines.join('\n');
}

const keyCreateText = (r: any) => `created key ${r.id} for app ${r.appId}. The secret is shown once; store it now:\n${r.secret}`;
const keyCreate = RESOURCE_GROUPS.keys!.create!;
RESOURCE_GROUPS.keys!.create = {
  ...keyCreate,
  usage:
    'create --app NAME|ID (--api NAME|ID ... | --policy NAME|ID) [--name N] [--env live|test] [--expires-in SECONDS] [--rate-limit name:limit:window ...] [--quota N/day|N/month] [--scopes a,b] [--ip CIDR ...] [--data JSON]',
  // A key without access works on no API: said here, before anything is sent, in the CLI's own words
  // (the admin API refuses it too, and also a policy that grants nothing).
  run: async (c, _a, f) => {
    const body = { ...(await keyBody(c, f)), ...data(f) };
    if (body.access === undefined && body.policyId === undefined) {
      throw new UsageError('a key without access works on no API: give --api NAME (once per API) or --policy NAME (a policy that grants access)');
    }
    return c.request('POST', '/keys', body);
  },
  text: keyCreateText,
};

export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

/** Runs one verb and prints its answer; resolves to the exit code (1 for an answer that is a refusal). */
export async function runResourceCommand(group: string, verbs: Record<string, Verb>, argv: string[], client: AdminClient, out: Output): Promise<number> {
  const [verbName, ...rest] = argv;
  const verb = verbName && Object.hasOwn(verbs, verbName) ? verbs[verbName] : undefined;
  if (!verb) {
    const usage = `usage: gatehouse ${group} <${Object.keys(verbs).join('|')}> ...   (gatehouse ${group} <verb> --help: its flags)`;
    throw asksForHelp(argv) ? new HelpRequest(usage) : new UsageError(usage);
  }
  if (asksForHelp(rest)) throw new HelpRequest(`usage: gatehouse ${group} ${verb.usage}`);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...verb.flags, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nusage: gatehouse ${group} ${verb.usage}`);
  }
  if (parsed.positionals.length !== (verb.positionals ?? 0)) throw new UsageError(`usage: gatehouse ${group} ${verb.usage}`);
  const result = await verb.run(client, parsed.positionals, parsed.values as Flags);
  out.result(result, () => (verb.text ? verb.text(result) : JSON.stringify(result, null, 2)));
  return verb.exitCode?.(result) ?? 0;
}
