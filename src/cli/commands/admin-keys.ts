import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load.ts';
import { adminKeysService } from '../../control/services/admin-keys.ts';
import { ADMIN_PERMISSIONS, type AdminPermission } from '../../domain/permissions.ts';
import { openStore } from '../../store/open-store.ts';
import { asksForHelp, CommandError, HelpRequest, table, UsageError, type Output } from '../output.ts';

const USAGE = `usage: gatehouse admin-keys create --name N --permissions p1,p2 | list | revoke ID   [--config F] [--json]
permissions: ${ADMIN_PERMISSIONS.join(', ')}`;

/**
 * Admin keys are managed on the store directly: this is how the first one comes to exist, and it
 * needs access to the machine (the store and the pepper), not to the admin API.
 */
export async function runAdminKeys(argv: string[], out: Output): Promise<void> {
  if (asksForHelp(argv)) throw new HelpRequest(USAGE);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { name: { type: 'string' }, permissions: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const [verb, id, ...extra] = parsed.positionals;
  const permissions = (parsed.values.permissions ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  // The command line is checked before the store is opened, so a mistake creates nothing.
  const valid =
    extra.length === 0 && ((verb === 'create' && !id && parsed.values.name && permissions.length > 0) || (verb === 'list' && !id) || (verb === 'revoke' && id));
  if (!valid) throw new UsageError(USAGE);
  const unknown = permissions.filter((p) => !(ADMIN_PERMISSIONS as readonly string[]).includes(p));
  if (unknown.length > 0) throw new UsageError(`unknown permission(s): ${unknown.join(', ')}\n${USAGE}`);

  const config = loadConfig({ file: parsed.values.config });
  const { store } = await openStore(config);
  const deps = { store, peppers: config.peppers, clock: Date.now };
  const actor = { actor: `cli:${process.env.USER ?? 'unknown'}`, requestId: null };
  try {
    await store.migrate();
    if (verb === 'create') {
      const { adminKey, secret } = await adminKeysService.create(deps, actor, parsed.values.name!, permissions as AdminPermission[]);
      out.result(
        { ...adminKeysService.view(adminKey), secret },
        () => `created admin key ${adminKey.id} (${adminKey.permissions.join(', ')}). The secret is shown once:\n${secret}`,
      );
    } else if (verb === 'list') {
      const keys = (await store.adminKeys.list()).map(adminKeysService.view);
      out.result(keys, () => table(keys, ['id', 'name', 'start', 'permissions', 'createdAt', 'revokedAt']));
    } else {
      if (!(await adminKeysService.revoke(deps, actor, id!))) throw new CommandError(`no active admin key with id ${id}`);
      out.result({ revoked: id }, () => `revoked admin key ${id}`);
    }
  } finally {
    await store.close();
  }
}
