import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_DIR_MASTER_KEY, DATA_DIR_PEPPER } from '../config/load.ts';
import { clientsService } from '../control/services/clients.ts';
import { usersService } from '../control/services/users.ts';
import type { ControlContext } from '../control/context.ts';
import { adminKeysService } from '../control/services/admin-keys.ts';
import { apisService } from '../control/services/apis.ts';
import { appsService } from '../control/services/apps.ts';
import { keysService } from '../control/services/keys.ts';
import { ADMIN_PERMISSIONS } from '../domain/permissions.ts';

export const DEMO_API_NAME = 'demo';

/** Demo mode's pepper and master key: random, generated once, readable only by this user, kept out of the repo. */
export function ensureDemoSecrets(dataDir: string): void {
  for (const name of [DATA_DIR_PEPPER, DATA_DIR_MASTER_KEY]) {
    const file = join(dataDir, name);
    if (existsSync(file)) continue;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
}

export interface DemoSecrets {
  adminKey: string;
  apiKey: string;
  /** Present when the authorization server is on: the demo operator (console role admin). */
  user?: { username: string; password: string };
  /** The demo developer (console role developer), for the portal. */
  developer?: { username: string; password: string };
  client?: { id: string; secret: string };
}

/**
 * Creates the demo API, app, key and an admin key, once; null when they already exist. On a restart
 * the demo API is pointed at this run's demo upstream, which may listen on another port now
 * (GATEHOUSE_DEMO_UPSTREAM_PORT), unless an admin pointed it elsewhere.
 */
export async function createDemoObjects(ctx: ControlContext, upstreamUrl: string): Promise<DemoSecrets | null> {
  const actor = { actor: 'demo', requestId: null };
  const existing = (await ctx.store.apis.all()).find((a) => a.name === DEMO_API_NAME);
  if (existing) {
    // Only a URL the demo set itself is moved; one an admin changed is left alone.
    const demoSet = /^http:\/\/127\.0\.0\.1:\d+$/.test(existing.upstreamUrl);
    if (demoSet && existing.upstreamUrl !== upstreamUrl) await apisService.update(ctx, actor, existing.id, { upstreamUrl });
    return null;
  }
  const api = await apisService.create(ctx, actor, {
    name: DEMO_API_NAME,
    listenPath: '/demo',
    upstreamUrl,
    // Everything needs the API key, except /me, which takes an access token (a user's or a machine's).
    auth: { type: 'apiKey', scopes: [], ...(ctx.identity ? { routes: [{ paths: ['/me', '/me/**'], type: 'bearer' as const }] } : {}) },
    timeoutSeconds: 10,
    pathCase: 'sensitive',
    // In the developer portal's catalogue, so the demo developer can make a key for it.
    portal: { listed: true, description: 'The demo API: /hello with an API key, /me with an access token.' },
  });
  const app = await appsService.create(ctx, actor, { name: 'Demo app', owner: 'you@example.com', metadata: {} });
  const { secret: apiKey } = await keysService.create(ctx, actor, {
    appId: app.id,
    environment: 'test',
    name: 'demo key',
    certificateThumbprint: null,
    publishable: false,
    policyId: null,
    enabled: true,
    metadata: {},
    access: [{ apiId: api.id }],
    rateLimits: [
      { name: 'per-second', limit: 5, windowSeconds: 1 },
      { name: 'per-minute', limit: 100, windowSeconds: 60 },
    ],
    quota: { limit: 1000, period: 'day' },
    ipAllowlist: null,
    scopes: null,
    rotation: null,
  });
  const { secret: adminKey } = await adminKeysService.create(ctx, actor, 'demo admin', [...ADMIN_PERMISSIONS]);
  if (!ctx.identity) return { adminKey, apiKey };
  const password = randomBytes(12).toString('base64url');
  // Demo only: an operator with every console permission, and a developer for the portal, with generated passwords.
  await usersService.create(ctx, actor, {
    username: 'demo@example.com',
    name: 'Demo operator',
    password,
    roles: ['demo'],
    mfaRequired: false,
    consoleRole: 'admin',
  });
  const developerPassword = randomBytes(12).toString('base64url');
  await usersService.create(ctx, actor, {
    username: 'developer@example.com',
    name: 'Demo developer',
    password: developerPassword,
    roles: [],
    mfaRequired: false,
    consoleRole: 'developer',
  });
  const { client, secret } = await clientsService.create(ctx, actor, {
    name: 'Demo machine client',
    type: 'confidential',
    redirectUris: [],
    postLogoutRedirectUris: [],
    grantTypes: ['client_credentials'],
    scopes: [],
    apiIds: [api.id],
    firstParty: true,
    dpopBound: false,
    exchangeAppId: null,
    accessTokenTtlSeconds: null,
  });
  return {
    adminKey,
    apiKey,
    user: { username: 'demo@example.com', password },
    developer: { username: 'developer@example.com', password: developerPassword },
    client: { id: client.id, secret: secret! },
  };
}
