import type { AdminKey } from '../../domain/entities.ts';
import { newId } from '../../domain/ids.ts';
import { findBySecret, hashKey, type Pepper } from '../../domain/key-hash.ts';
import { generateKey, isWellFormedKey } from '../../domain/key-format.ts';
import type { AdminPermission } from '../../domain/permissions.ts';
import type { Store } from '../../store/port.ts';
import { iso, type Actor } from '../context.ts';

interface AdminKeyDeps {
  store: Store;
  peppers: readonly Pepper[];
  clock: () => number;
}

export const adminKeysService = {
  /** Prints nowhere: the caller shows the secret once. */
  async create(deps: AdminKeyDeps, actor: Actor, name: string, permissions: AdminPermission[]): Promise<{ adminKey: AdminKey; secret: string }> {
    const now = deps.clock();
    const { secret, start } = generateKey('admin', 'live');
    const pepper = deps.peppers[0]!;
    const adminKey: AdminKey = {
      id: newId('adminKey', now),
      name,
      start,
      hash: hashKey(secret, pepper),
      pepperId: pepper.id,
      permissions: [...new Set(permissions)].sort(),
      createdAt: now,
      revokedAt: null,
    };
    await deps.store.adminKeys.create(adminKey, {
      ...actor,
      action: 'admin_key.created',
      targetType: 'admin_key',
      targetId: adminKey.id,
      before: null,
      after: adminKeysService.view(adminKey),
    });
    return { adminKey, secret };
  },

  async revoke(deps: AdminKeyDeps, actor: Actor, id: string): Promise<boolean> {
    return deps.store.adminKeys.revoke(id, deps.clock(), {
      ...actor,
      action: 'admin_key.revoked',
      targetType: 'admin_key',
      targetId: id,
      before: null,
      after: null,
    });
  },

  /** The admin key a secret belongs to, or null when it is malformed, unknown or revoked. */
  async authenticate(deps: AdminKeyDeps, secret: string): Promise<AdminKey | null> {
    if (!isWellFormedKey(secret, 'admin')) return null;
    const found = await findBySecret(secret, deps.peppers, (hash) => deps.store.adminKeys.findByHash(hash));
    return found?.revokedAt === null ? found : null;
  },

  view(key: AdminKey) {
    return { id: key.id, name: key.name, start: key.start, permissions: key.permissions, createdAt: iso(key.createdAt), revokedAt: iso(key.revokedAt) };
  },
};
