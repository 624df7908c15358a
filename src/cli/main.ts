#!/usr/bin/env node
import { ConfigError } from '../config/load.ts';
import { createAdminClient } from './admin-client.ts';
import { runAdminKeys } from './commands/admin-keys.ts';
import { IDENTITY_GROUPS } from './commands/identity.ts';
import { RESOURCE_GROUPS, runResourceCommand } from './commands/resources.ts';
import { runDemo, runMigrate, runStart } from './commands/server.ts';
import { CommandError, createOutput, UsageError } from './output.ts';

const USAGE = `usage: gatehouse <command> [--json]
  start --config gatehouse.yaml     run the gateway and the admin API
  demo                              demo mode (what npm start runs)
  migrate [--config F]              apply store migrations
  admin-keys create|list|revoke     admin keys, on the store directly
  apis|apps|policies  list|show|create|update|delete
  keys  list|show|create|update|rotate|revoke|disable|enable|delete|verify|usage
  users list|show|create|update|set-password|disable|enable|reset-mfa|delete
  clients list|show|create|update|rotate-secret|disable|enable|delete
  grants list --user ID|revoke GRANT_ID|revoke-user USER_ID
  signing-keys list|rotate [--alg ES256|RS256|EdDSA] [--now]
Commands other than start, demo, migrate and admin-keys talk to the admin API at GATEHOUSE_URL
(default http://127.0.0.1:8081) with the admin key in GATEHOUSE_ADMIN_KEY.`;

const GROUPS = { ...RESOURCE_GROUPS, ...IDENTITY_GROUPS };

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i !== -1) return argv[i + 1];
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function main(argv: string[]): Promise<number> {
  const out = createOutput(argv.includes('--json'));
  const [command, ...rest] = argv;
  try {
    if (command === 'start') await runStart(option(rest, 'config'), out);
    else if (command === 'demo') await runDemo(option(rest, 'config'), out);
    else if (command === 'migrate') await runMigrate(option(rest, 'config'), out);
    else if (command === 'admin-keys') await runAdminKeys(rest, out);
    else if (command && Object.hasOwn(GROUPS, command)) await runResourceCommand(command, GROUPS[command]!, rest, createAdminClient(process.env), out);
    else if (command === undefined || command === 'help' || command === '--help') {
      (command === undefined ? process.stderr : process.stdout).write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    } else throw new UsageError(`unknown command ${command}\n${USAGE}`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) return out.error(error.message), 2;
    if (error instanceof CommandError) return out.error(error.message, error.details), 1;
    if (error instanceof ConfigError) return out.error(error.message), 1;
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') return out.error(`a port is already in use: ${(error as Error).message}`), 1;
    throw error;
  }
}

const code = await main(process.argv.slice(2));
// A failed start may leave a listener open; a failed command must still end the process.
if (code !== 0) process.exit(code);
