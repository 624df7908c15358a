import { ADMIN_PERMISSIONS, type AdminPermission } from './permissions.ts';

/**
 * A user's console role: what they may do in the web app (issue 13). The admin API maps it to admin
 * permissions, so a signed-in person is held to the same route permissions as an admin key.
 */
export const CONSOLE_ROLES = ['admin', 'operator', 'auditor', 'developer'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

/**
 * The console roles that must pass a second factor unless the configuration says otherwise
 * (authorization.mfaRequiredConsoleRoles): those that issue, revoke and read credentials.
 */
export const MFA_CONSOLE_ROLES_BY_DEFAULT: readonly ConsoleRole[] = ['admin', 'operator'];

/** What an operator may not do: manage users (and so their roles) and signing keys. Admin keys are managed by the CLI only. */
const ADMIN_ONLY: ReadonlySet<AdminPermission> = new Set(['users:write', 'signing_keys:write']);

/**
 * The admin permissions a console role holds: admin every one; operator every one but managing users
 * and signing keys; auditor every `:read` (no writes, no key verification); developer none (only the
 * portal API, which checks ownership itself).
 */
export function consolePermissions(role: ConsoleRole | null): AdminPermission[] {
  switch (role) {
    case 'admin':
      return [...ADMIN_PERMISSIONS];
    case 'operator':
      return ADMIN_PERMISSIONS.filter((p) => !ADMIN_ONLY.has(p));
    case 'auditor':
      return ADMIN_PERMISSIONS.filter((p) => p.endsWith(':read'));
    case 'developer':
    case null:
      return [];
  }
}

/** Whether a role may use the portal API (/portal/v1): developers, and operators and admins looking at it. */
export const mayUsePortal = (role: ConsoleRole | null): boolean => role === 'developer' || role === 'operator' || role === 'admin';
