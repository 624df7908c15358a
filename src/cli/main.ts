#!/usr/bin/env node
import { enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { asksForHelp, CommandError, createOutput, HelpRequest, UsageError, type Output } from './output.ts';
import type { Verb } from './commands/resources.ts';

const USAGE = `usage: gatehouse <command> [--json]
  start --config gatehouse.yaml [--role all|control|gateway]  run the gateway and the admin API (or one of them)
  demo                              demo mode (what npm start runs)
  migrate [--config F]              apply store migrations
  admin-keys create|list|revoke     admin keys, on the store directly
  apis|apps|policies  list|show|create|update|delete
  keys  list|show|create|update|rotate|revoke|disable|enable|delete|verify|usage|addresses|compromised|impact
  users list|show|create|update|set-password|set-console-role|disable|enable|reset-mfa|invite|approve|delete|impact
  clients list|show|create|update|rotate-secret|disable|enable|delete|impact
  grants list --user ID|revoke GRANT_ID|revoke-user USER_ID
  signing-keys list|rotate [--alg ES256|RS256|EdDSA] [--now]
  webhooks list|show|create|update|enable|disable|delete|rotate-secret|deliveries|replay|test
  audit [--target ID] [--action A]  the audit log, newest first
  requests [--key ID] [--since 1h]  the request log, newest first (filters: --help); --format ndjson|csv exports
  usage [--by api,status] [--since 24h]  request counts and series (filters: --help); usage billing: per app, API and period
  scan [PATH...] [--staged] [--format text|json|sarif]  leaked Gatehouse secrets in files and git history (--help)
--api, --app and --policy take a name or an id (a name is looked up); so does the ID of apis|apps|policies.
Commands other than start, demo, migrate and admin-keys talk to the admin API at GATEHOUSE_URL
(default http://127.0.0.1:8081) with the admin key in GATEHOUSE_ADMIN_KEY.
Exit codes: 0 done, 1 refused or failed (keys verify: the key is not valid; scan: a live secret found), 2 wrong command line.`;

/**
 * The server commands keep V8's compiled code and Node's type-stripped sources between starts, which
 * takes about 40 % off start-up (issue 14, cold start; docs/benchmarks.md). In the user's own cache
 * directory, never a shared temporary one: what is cached there is code that runs. Node's own
 * NODE_COMPILE_CACHE (another directory) and NODE_DISABLE_COMPILE_CACHE=1 (off) take precedence.
 */
function compileCache(): void {
  if (process.env.NODE_COMPILE_CACHE || process.env.NODE_DISABLE_COMPILE_CACHE) return;
  enableCompileCache(join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'gatehouse', 'node-compile-cache'));
}

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i !== -1) return argv[i + 1];
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** The commands that act on the machine itself: `--help` must stop them before they open a store or a port. */
const SERVER_USAGE: Readonly<Record<string, string>> = {
  start: 'usage: gatehouse start --config gatehouse.yaml [--role all|control|gateway]   run the gateway and the admin API (or one of them)',
  demo: 'usage: gatehouse demo [--config F] [--json]   demo mode (what npm start runs): data in ./.gatehouse or GATEHOUSE_DATA_DIR',
  migrate: 'usage: gatehouse migrate [--config F] [--json]   apply store migrations',
};

/**
 * Each command loads its own modules when it runs, never at start: the server side (gateway, control
 * plane, oidc-provider, zod schemas) takes about a second to import, and `help` or a command that only
 * calls the admin API needs none of it.
 */
async function run(command: string | undefined, rest: string[], out: Output): Promise<number> {
  if (command !== undefined && Object.hasOwn(SERVER_USAGE, command) && asksForHelp(rest)) throw new HelpRequest(SERVER_USAGE[command]);
  switch (command) {
    case 'start':
      compileCache();
      await (await import('./commands/server.ts')).runStart(option(rest, 'config'), out, option(rest, 'role'));
      return 0;
    case 'demo':
      compileCache();
      await (await import('./commands/server.ts')).runDemo(option(rest, 'config'), out);
      return 0;
    case 'migrate':
      await (await import('./commands/server.ts')).runMigrate(option(rest, 'config'), out);
      return 0;
    case 'admin-keys':
      await (await import('./commands/admin-keys.ts')).runAdminKeys(rest, out);
      return 0;
    case 'audit': {
      const [{ runAudit }, { createAdminClient }] = await Promise.all([import('./commands/audit.ts'), import('./admin-client.ts')]);
      await runAudit(rest, createAdminClient(process.env), out);
      return 0;
    }
    case 'requests': {
      const [{ runRequests }, { createAdminClient }] = await Promise.all([import('./commands/requests.ts'), import('./admin-client.ts')]);
      await runRequests(rest, createAdminClient(process.env), out);
      return 0;
    }
    case 'usage': {
      const [{ runUsage }, { createAdminClient }] = await Promise.all([import('./commands/usage.ts'), import('./admin-client.ts')]);
      await runUsage(rest, createAdminClient(process.env), out);
      return 0;
    }
    case 'scan': {
      const [{ runScan }, { createAdminClient }] = await Promise.all([import('./commands/scan.ts'), import('./admin-client.ts')]);
      return runScan(rest, process.env, () => createAdminClient(process.env), out);
    }
    case undefined:
      process.stderr.write(`${USAGE}\n`);
      return 2;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return 0;
  }
  const [{ RESOURCE_GROUPS, runResourceCommand }, { IDENTITY_GROUPS }, { INCIDENT_VERBS }, { WEBHOOK_GROUPS }, { createAdminClient }] = await Promise.all([
    import('./commands/resources.ts'),
    import('./commands/identity.ts'),
    import('./commands/incident.ts'),
    import('./commands/webhooks.ts'),
    import('./admin-client.ts'),
  ]);
  const groups: Record<string, Record<string, Verb>> = { ...RESOURCE_GROUPS, ...IDENTITY_GROUPS, ...WEBHOOK_GROUPS };
  for (const [group, verbs] of Object.entries(INCIDENT_VERBS)) groups[group] = { ...groups[group], ...verbs };
  if (!Object.hasOwn(groups, command)) throw new UsageError(`unknown command ${command}\n${USAGE}`);
  return runResourceCommand(command, groups[command]!, rest, createAdminClient(process.env), out);
}

async function main(argv: string[]): Promise<number> {
  const out = createOutput(argv.includes('--json'));
  const [command, ...rest] = argv;
  try {
    return await run(command, rest, out);
  } catch (error) {
    if (error instanceof HelpRequest) return (process.stdout.write(`${error.message}\n`), 0);
    if (error instanceof UsageError) return (out.error(error.message), 2);
    if (error instanceof CommandError) return (out.error(error.message, error.details), 1);
    // Only commands that read the configuration can throw this, so the module is loaded by then.
    const { ConfigError } = await import('../config/load.ts');
    if (error instanceof ConfigError) return (out.error(error.message), 1);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') return (out.error(`a port is already in use: ${(error as Error).message}`), 1);
    // Anything else (a library's failure): printed as Node would (its stack), but through the same
    // rule as every other error (out.error), not by Node itself, which would echo what it quotes.
    return (out.error(error instanceof Error ? (error.stack ?? error.message) : String(error)), 1);
  }
}

const code = await main(process.argv.slice(2));
// A failed start may leave a listener open; a failed command must still end the process.
if (code !== 0) process.exit(code);
