/** Admin key permissions: each admin route needs exactly one; grant the least that does the job. */
export const ADMIN_PERMISSIONS = [
  'apis:read',
  'apis:write',
  'apps:read',
  'apps:write',
  'policies:read',
  'policies:write',
  'keys:read',
  'keys:write',
  'keys:verify',
  'audit:read',
  'requests:read',
  'usage:read',
  'users:read',
  'users:write',
  'clients:read',
  'clients:write',
  'signing_keys:read',
  'signing_keys:write',
  'webhooks:read',
  'webhooks:write',
  /** The developer portal: invite developers, approve sign-ups. */
  'developers:write',
] as const;
export type AdminPermission = (typeof ADMIN_PERMISSIONS)[number];
